"""The client's windows, dialogs and views (Qt only; the API is reached through async calls)."""
