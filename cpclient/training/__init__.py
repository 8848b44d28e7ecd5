"""Training mode: the embedded training server, the demo accounts and the example searches."""
