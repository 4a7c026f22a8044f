"""Readers of the datasets' native formats, one module per format, registered by name.

Every reader module exposes::

    list_recordings(raw_dir, options) -> list[tuple[int, int]]        # (subject, session), sorted
    read_recording(raw_dir, subject, session, options) -> Recording   # validated

``options`` is the dataset's reader options from the config (may be empty). Each module documents
its own keys in ``OPTIONS``; every reader also accepts :data:`COMMON_OPTIONS` (``reader``,
``dataset``, ``fs``, ``n_channels``, ``layout``). An unknown key raises
:class:`~myoflow.errors.ConfigError`; bad input files raise
:class:`~myoflow.errors.DataFormatError` naming the file. Readers never write files.
"""

from __future__ import annotations

from types import ModuleType

from . import ciildata, csl, epn612, flexemg, hyser, icelab, myoarmband, uci_myo36
from ._common import COMMON_OPTIONS

#: name -> reader module
READERS: dict[str, ModuleType] = {
    "epn612": epn612,
    "hyser": hyser,
    "csl": csl,
    "icelab": icelab,
    # real public sets that can be read offline (see the spec's datasets.md)
    "myoarmband": myoarmband,
    "uci_myo36": uci_myo36,
    "ciildata": ciildata,
    "flexemg": flexemg,
}

__all__ = ["READERS", "COMMON_OPTIONS", "get_reader"]


def get_reader(name: str) -> ModuleType:
    """The reader module registered as ``name``.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"hyser"``.

    Returns
    -------
    module
        With ``list_recordings``, ``read_recording`` and ``OPTIONS``.

    Raises
    ------
    KeyError
        On an unknown name; the message lists the known ones.
    """
    try:
        return READERS[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown reader {name!r}; known: {sorted(READERS)}") from None
