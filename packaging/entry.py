"""Entry script of the frozen app: the same `vae-explorer` command (app, CLI and --self-test)."""
import multiprocessing
import sys

from explorer.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
