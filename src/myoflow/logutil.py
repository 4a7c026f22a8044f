"""Send a rule script's logging and stderr to its log file, and its error to the terminal."""

from __future__ import annotations

import logging
import sys
import traceback


def log_to_file(path: str) -> logging.Logger:
    """Route the ``myoflow`` logger, warnings and stderr to ``path``; return the logger.

    An uncaught exception is written to the log with its traceback and, in one line, to the
    terminal: the message names the bad file, key or value, and a user should not have to open
    the log to read it.
    """
    stream = open(path, "w", buffering=1)
    sys.stderr = stream
    logging.basicConfig(
        stream=stream, level=logging.INFO, force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.captureWarnings(True)

    def report(exc_type, exc, tb):
        traceback.print_exception(exc_type, exc, tb, file=stream)
        stream.flush()
        print(f"\nmyoflow error ({exc_type.__name__}, log {path}):\n{exc}\n", file=sys.__stderr__)

    sys.excepthook = report
    return logging.getLogger("myoflow")
