"""The bundles' entry point: the same as the `cpclient` command.

Which build it is (live bundle or training kit) is read at run time from `distribution.json`,
written into the bundle by `packaging/build.py` (see `cpclient.distribution`).
"""

import sys

from cpclient.app import main

if __name__ == "__main__":
    sys.exit(main())
