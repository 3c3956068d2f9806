"""``python -m scaler`` runs the command line (as torchrun needs)."""

import sys

from scaler.cli import main

sys.exit(main())
