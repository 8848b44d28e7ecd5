"""cpserver: the minimal backend API of the ContactPoint directory; it enforces every rule."""
