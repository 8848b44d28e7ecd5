"""`python -m cpclient`: the same as the `cpclient` command."""

import sys

from cpclient.app import main

if __name__ == "__main__":
    sys.exit(main())
