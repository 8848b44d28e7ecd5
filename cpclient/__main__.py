"""`python -m cpclient`: the same as the `cpclient` command."""

import sys

from cpclient.app import main

sys.exit(main())
