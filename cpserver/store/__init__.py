"""Database access: tables, engine and migrations."""
