"""``python -m custvalue``: the command line (see :mod:`custvalue.cli`)."""

import sys

from custvalue.cli import main

sys.exit(main())
