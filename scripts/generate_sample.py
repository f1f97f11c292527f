"""Regenerate the committed sample data/sample/exports (``--help``: other days, benchmark mode)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))  # this checkout's code
from sentiment_monitor.sample import main

if __name__ == "__main__":
    sys.exit(main())
