"""Entry point for `python -m reconciler.testing.pvesim`."""

import sys

from .cli import main

sys.exit(main())
