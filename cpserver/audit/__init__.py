"""The audit trail: every access, written before data leaves."""
