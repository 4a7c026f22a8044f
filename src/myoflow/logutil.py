"""Send a rule script's logging and stderr to its log file."""

from __future__ import annotations

import logging
import sys


def log_to_file(path: str) -> logging.Logger:
    """Route the ``myoflow`` logger, warnings and stderr to ``path``; return the logger."""
    stream = open(path, "w", buffering=1)
    sys.stderr = stream
    logging.basicConfig(
        stream=stream, level=logging.INFO, force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.captureWarnings(True)
    return logging.getLogger("myoflow")
