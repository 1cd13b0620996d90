import sys

from custvalue.cli import main

sys.exit(main())
