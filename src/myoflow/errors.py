"""Exceptions with messages a user can act on."""


class MyoflowError(Exception):
    """Base class of every error myoflow raises on purpose."""


class DataFormatError(MyoflowError, ValueError):
    """A raw or intermediate file does not have the structure its format promises.

    The message always names the file and what was expected.
    """


class ConfigError(MyoflowError, ValueError):
    """A configuration value is missing, misspelled or of the wrong type."""


class DownloadError(MyoflowError, OSError):
    """A dataset could not be fetched from its source (offline, unreachable, HTTP error, no direct
    download).

    The message names the URL that failed and why, the dataset's landing page, and the folder to put
    the files in by hand.
    """


class ChecksumError(MyoflowError, ValueError):
    """A dataset's files do not match their published (or committed) checksums, or cannot be checked.

    The message names each file with its expected and actual hash, or what is missing.
    """


class LeakageError(MyoflowError, ValueError):
    """A fold table trains (or validates) on a subject, session or repetition it also tests on.

    The message names the fold table, each offending fold and the ids found on both sides.
    """
