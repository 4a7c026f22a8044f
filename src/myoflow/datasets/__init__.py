"""The datasets, one module each, found by name: a new dataset is a new module here and nothing else.

Every public module of this package (a name not starting with ``_``; those are shared helpers) is
registered in :data:`DATASETS` under its ``NAME`` when the package is imported. A dataset module
holds, together:

Metadata (with the reader's default options)
    ``NAME`` (the registry name, = the module name), ``FS`` (Hz), ``N_CHANNELS``, ``GESTURES``
    (class names, index = label), ``N_CLASSES`` (= ``len(GESTURES)``), ``LAYOUT`` (a name
    :func:`myoflow.layouts.get_layout` knows), ``SUBJECTS`` and ``SESSIONS`` (the ids a complete
    copy of the published set lists, or ``None`` where not documented), ``OPTIONS`` (its own reader
    option keys -> help text).
The reader::

    list_recordings(raw_dir, options) -> list[tuple[int, int]]        # (subject, session), sorted
    read_recording(raw_dir, subject, session, options) -> Recording   # validated

    ``options`` is the dataset's reader options from the config (may be empty). Every reader also
    accepts :data:`COMMON_OPTIONS` (``reader``, ``dataset``, ``fs``, ``n_channels``, ``layout``). An
    unknown key raises :class:`~myoflow.errors.ConfigError`; bad input files raise
    :class:`~myoflow.errors.DataFormatError` naming the file. Readers never write files.
Optionally
    ``SOURCE``: its :class:`myoflow.download.Source` (where it is published, how it is fetched and
    checked); ``REAL_ARCHIVE``: the file name of an offline copy in ``../shared/data``
    (``scripts/extract_real_data.py``); a synthetic writer: ``SYNTHETIC_DEFAULTS`` (sizes, then
    :data:`myoflow.synthetic.PHYSICS_DEFAULTS`), ``synthetic_recordings(params)``,
    ``write_synthetic(out_dir, params, seed)`` and, to check values, ``check_synthetic(params)``.

The functions below are what the workflow and the scripts call; they never need to know which
datasets exist.
"""

from __future__ import annotations

import copy
import importlib
import os
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping

import numpy as np

from ..errors import ConfigError
from ..registry import Registry
from ._common import COMMON_OPTIONS, id_ranges

#: name -> dataset module
DATASETS: Registry[ModuleType] = Registry("dataset")

#: attributes every dataset module defines
REQUIRED = ("NAME", "FS", "N_CHANNELS", "GESTURES", "N_CLASSES", "LAYOUT", "SUBJECTS", "SESSIONS",
            "OPTIONS", "list_recordings", "read_recording")
#: attributes of a synthetic writer (all or none)
SYNTHETIC = ("SYNTHETIC_DEFAULTS", "synthetic_recordings", "write_synthetic")

__all__ = [
    "COMMON_OPTIONS", "DATASETS", "dataset_names", "discover", "get_dataset", "has_synthetic",
    "listing_problems", "synthetic_params", "synthetic_recordings", "write_synthetic",
]


def _check_module(mod: ModuleType, name: str) -> None:
    missing = [a for a in REQUIRED if not hasattr(mod, a)]
    if missing:
        raise ConfigError(f"dataset module {mod.__name__} lacks {', '.join(missing)} (every dataset "
                          f"module defines {', '.join(REQUIRED)}; see myoflow.datasets)")
    if mod.NAME != name:
        raise ConfigError(f"dataset module {mod.__name__} sets NAME = {mod.NAME!r}; it must be its "
                          f"module name {name!r}")
    have = [a for a in SYNTHETIC if hasattr(mod, a)]
    if have and len(have) != len(SYNTHETIC):
        raise ConfigError(f"dataset module {mod.__name__} has {', '.join(have)} but not "
                          f"{', '.join(a for a in SYNTHETIC if a not in have)} (a synthetic "
                          "writer needs all three)")


def discover(registry: Registry | None = None, package: str = __name__,
             path: Iterable[str] | None = None) -> Registry:
    """Import every public module of ``package`` and register it under its module name.

    Parameters
    ----------
    registry : Registry, optional
        Where to register (default :data:`DATASETS`).
    package : str
        Dotted name of the package to scan.
    path : list of str, optional
        Folders to scan (default: the package's ``__path__``).

    Returns
    -------
    Registry
        ``registry``, filled.
    """
    registry = DATASETS if registry is None else registry
    if path is None:
        path = importlib.import_module(package).__path__
    for info in sorted(pkgutil.iter_modules(list(path)), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{package}.{info.name}")
        _check_module(mod, info.name)
        registry.register(info.name, mod)
    return registry


def get_dataset(name: str) -> ModuleType:
    """The dataset module registered as ``name``.

    Raises
    ------
    ConfigError
        On an unknown name; the message lists the known ones.
    """
    return DATASETS.get(name)


def dataset_names() -> list[str]:
    """Names of every registered dataset, sorted."""
    return DATASETS.names()


def has_synthetic(name: str) -> bool:
    """Whether dataset ``name`` has a synthetic writer (ConfigError on an unknown name)."""
    return all(hasattr(get_dataset(name), a) for a in SYNTHETIC)


def _synthetic_module(name: str) -> ModuleType:
    mod = get_dataset(name)
    if not has_synthetic(name):
        with_writer = [n for n in dataset_names() if has_synthetic(n)]
        raise ConfigError(f"dataset {name!r} has no synthetic generator (source: synthetic); "
                          f"datasets with one: {', '.join(with_writer)}")
    return mod


def synthetic_params(name: str, overrides: Mapping[str, Any] | None) -> dict:
    """The module's ``SYNTHETIC_DEFAULTS`` overlaid with ``overrides``, checked.

    Parameters
    ----------
    name : str
        A dataset with a synthetic writer.
    overrides : dict
        The config's ``synthetic:`` entry (may be empty or None; a complete parameter dict is fine).

    Returns
    -------
    dict
        A fresh dict (the defaults are never shared); values normalised by the module's
        ``check_synthetic`` where it has one.

    Raises
    ------
    ConfigError
        A dataset without a synthetic writer, an unknown key (the message names it and lists the
        known keys) or a bad value (the message names the key).
    """
    mod = _synthetic_module(name)
    params = copy.deepcopy(dict(mod.SYNTHETIC_DEFAULTS))
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        raise ConfigError(f"synthetic {name}: unknown parameter(s) {unknown}; known: {sorted(params)}")
    params.update(copy.deepcopy(overrides))
    check = getattr(mod, "check_synthetic", None)
    return check(params) if check is not None else params


def synthetic_recordings(name: str, params: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """The (subject, session) pairs ``list_recordings`` finds after :func:`write_synthetic` with
    ``params`` (overrides or complete, see :func:`synthetic_params`), sorted."""
    p = synthetic_params(name, params)
    return sorted(tuple(r) for r in _synthetic_module(name).synthetic_recordings(p))


def write_synthetic(name: str, out_dir: str | os.PathLike, params: Mapping[str, Any] | None,
                    seed: int) -> Path:
    """Write a synthetic copy of dataset ``name``, in its native format, into ``out_dir``.

    The files are built in a temporary folder next to ``out_dir`` and renamed onto it only when
    complete, so a crash never leaves a half-written dataset; an existing ``out_dir`` is replaced.
    The same ``params`` and ``seed`` give byte-identical files (MATLAB files carry a creation time
    in their header).

    Parameters
    ----------
    name : str
        A dataset with a synthetic writer (:func:`has_synthetic`).
    out_dir : path
        Folder to create: the reader's ``raw_dir``.
    params : dict
        Overrides of the module's ``SYNTHETIC_DEFAULTS`` (or complete parameters).
    seed : int
        Master seed (>= 0); subjects, sessions and gestures draw from child seeds keyed by their ids.

    Raises
    ------
    ConfigError
        As :func:`synthetic_params`, or a bad seed.
    """
    from .. import synthetic

    p = synthetic_params(name, params)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"synthetic {name}: seed must be a non-negative integer, got {seed!r}")
    mod = _synthetic_module(name)
    return synthetic.write_atomically(out_dir, lambda folder: mod.write_synthetic(folder, p, int(seed)))


def listing_problems(name: str, recordings: Iterable[tuple[int, int]]) -> list[str]:
    """Notes on documented subjects or sessions of dataset ``name`` absent from ``recordings``.

    Parameters
    ----------
    name : str
        A registered dataset.
    recordings : iterable of (subject, session)
        What ``list_recordings`` found.

    Returns
    -------
    list of str
        One human-readable note per kind (subjects, sessions) with absent ids, naming them; empty
        when the module documents none (``SUBJECTS`` / ``SESSIONS`` None) or all are present.
    """
    mod = get_dataset(name)
    recordings = [tuple(r) for r in recordings]
    notes = []
    for what, documented, found in (("subject", mod.SUBJECTS, {s for s, _ in recordings}),
                                    ("session", mod.SESSIONS, {k for _, k in recordings})):
        if documented is None:
            continue
        absent = sorted(set(documented) - found)
        if absent:
            notes.append(f"{name}: {len(absent)} of the {len(set(documented))} documented {what}s "
                         f"absent from the listing: {what} {id_ranges(absent)}")
    return notes


discover()
