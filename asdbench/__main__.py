"""``python -m asdbench`` is the same as the ``asdbench`` console script."""

import sys

from asdbench.cli.main import main

sys.exit(main())
