"""`python -m explorer` opens the desktop app."""
import sys

from explorer.app import main

sys.exit(main(sys.argv[1:]))
