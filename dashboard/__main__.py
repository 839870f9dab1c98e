"""``python -m dashboard <command>``: the same program as the ``caseboard`` console script."""

import sys

from dashboard.cli import main

sys.exit(main())
