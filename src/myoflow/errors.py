"""Exceptions with messages a user can act on."""


class MyoflowError(Exception):
    """Base class of every error myoflow raises on purpose."""


class DataFormatError(MyoflowError, ValueError):
    """A raw or intermediate file does not have the structure its format promises.

    The message always names the file and what was expected.
    """


class ConfigError(MyoflowError, ValueError):
    """A configuration value is missing, misspelled or of the wrong type."""
