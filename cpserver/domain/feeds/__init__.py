"""Data in from source systems: the feed format, loading a batch, matching, provenance (issue 11)."""
