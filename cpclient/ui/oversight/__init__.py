"""The management team's and national team's screens (users, audit trail, alerts, incidents, shielding,
reports, organisations, lockdown), shown only to those roles; the server enforces the same."""
