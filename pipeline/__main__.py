"""``python -m pipeline`` runs the ``digest-repair`` command line."""

import sys

from .cli import main

sys.exit(main())
