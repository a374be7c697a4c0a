"""`python -m rota.cli`: the `rota` command without its console script."""

import sys

from rota.cli import main

sys.exit(main())
