"""`python -m echelon.serving`: the production topology in the foreground (echelon.serving.topology)."""

import sys

from echelon.serving.topology import main

sys.exit(main(sys.argv[1:]))
