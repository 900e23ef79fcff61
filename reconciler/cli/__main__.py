"""`python -m reconciler.cli`: the same entry point as the `reconcile` script."""

import sys

from reconciler.cli import main

sys.exit(main())
