"""Invented name and place lists for the synthetic (fictitious) data that `cpserver.seed` writes."""
