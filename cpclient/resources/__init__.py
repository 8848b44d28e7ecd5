"""Style sheets shipped inside the package (the training banner, the error summary, the shielded banner)."""
