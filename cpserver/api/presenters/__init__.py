"""Model → `*Public` schema: one presenter module per area; routes call them, the domain never does."""
