"""HTTP routes, one module per resource; each stays thin."""
