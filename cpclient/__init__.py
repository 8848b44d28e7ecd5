"""cpclient: the practitioners' desktop client for the ContactPoint directory."""
