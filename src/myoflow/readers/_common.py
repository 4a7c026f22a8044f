"""Helpers shared by the readers: option checking, path checks, consistency with the config."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from ..errors import ConfigError, DataFormatError
from ..store import Recording

#: Option keys every reader accepts. ``fs`` sets the sampling rate where the files carry none
#: (EPN-612 without ``generalInfo``, CSL, ICE Lab) and is checked against the files where they do;
#: ``n_channels`` and ``layout`` are checked against the recording the reader returns;
#: ``reader`` and ``dataset`` name the reader and the dataset (``Recording.dataset``).
COMMON_OPTIONS: dict[str, str] = {
    "reader": "registry name of the reader (informational)",
    "dataset": "dataset name written to Recording.dataset (default: the reader name)",
    "fs": "sampling rate (Hz): used where the files carry none, checked where they do",
    "n_channels": "expected channel count of the returned recording (checked)",
    "layout": "expected electrode layout name of the returned recording (checked)",
}


def check_options(options: Mapping[str, Any] | None, own: Mapping[str, str], reader: str) -> dict:
    """Return ``options`` as a dict; :class:`ConfigError` naming unknown keys."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ConfigError(f"reader {reader!r}: options must be a mapping, got {type(options).__name__}")
    known = set(own) | set(COMMON_OPTIONS)
    unknown = sorted(str(k) for k in options if k not in known)
    if unknown:
        raise ConfigError(f"reader {reader!r}: unknown option(s) {unknown}; known: {sorted(known)}")
    return dict(options)


def option_int_list(options: Mapping[str, Any], key: str, reader: str) -> list[int] | None:
    """A list of distinct integers from ``options[key]`` (None when absent)."""
    if key not in options or options[key] is None:
        return None
    val = options[key]
    if (not isinstance(val, (list, tuple)) or not val
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in val)
            or len(set(val)) != len(val)):
        raise ConfigError(f"reader {reader!r}: option {key!r} must be a non-empty list of distinct "
                          f"integers, got {val!r}")
    return [int(v) for v in val]


def option_choice(options: Mapping[str, Any], key: str, choices: tuple[str, ...], reader: str) -> str:
    """``options[key]`` (default: the first choice), which must be one of ``choices``."""
    val = options.get(key, choices[0])
    if val not in choices:
        raise ConfigError(f"reader {reader!r}: option {key!r} must be one of {list(choices)}, "
                          f"got {val!r}")
    return str(val)


def option_fs(options: Mapping[str, Any], default: float, reader: str) -> float:
    """The sampling rate from ``options['fs']`` or ``default``."""
    val = options.get("fs", default)
    if isinstance(val, bool) or not isinstance(val, (int, float)) or not val > 0:
        raise ConfigError(f"reader {reader!r}: option 'fs' must be a positive number, got {val!r}")
    return float(val)


def existing_dir(raw_dir: str | os.PathLike, what: str) -> Path:
    """``raw_dir`` as a Path; :class:`DataFormatError` if it is not an existing folder."""
    path = Path(raw_dir)
    if not path.is_dir():
        raise DataFormatError(f"{path}: folder not found (expected the {what})")
    return path


def numbered(paths: list[Path], pattern: str) -> dict[int, Path]:
    """Map the number captured by ``pattern`` (full match on the name) to each matching path."""
    out: dict[int, Path] = {}
    rx = re.compile(pattern)
    for p in paths:
        m = rx.fullmatch(p.name)
        if m:
            out[int(m.group(1))] = p
    return out


def finish(rec: Recording, options: Mapping[str, Any], source: str) -> Recording:
    """Validate ``rec`` and check it against the config's declared channel count and layout."""
    rec.validate(source)
    if "n_channels" in options and options["n_channels"] is not None:
        if int(options["n_channels"]) != rec.n_channels:
            raise DataFormatError(f"{source}: the config declares n_channels "
                                  f"{options['n_channels']}, the data have {rec.n_channels}")
    if "layout" in options and options["layout"] is not None and options["layout"] != rec.layout.name:
        raise DataFormatError(f"{source}: the config declares layout {options['layout']!r}, the "
                              f"reader produces {rec.layout.name!r}")
    return rec


def load_mat(path: Path, *keys: str) -> dict[str, Any]:
    """Load a MATLAB (v4-v7.2) file; :class:`DataFormatError` naming ``path`` unless it holds one
    of ``keys`` (the first found is returned under its own name)."""
    if not path.is_file():
        raise DataFormatError(f"{path}: file not found")
    try:
        # scipy raises a zoo of exception types (ValueError, TypeError, OSError, zlib.error,
        # MatReadError, struct.error, MemoryError ...) on corrupt files: all mean "unreadable"
        mat = scipy.io.loadmat(path, variable_names=list(keys))
    except NotImplementedError as exc:  # v7.3 (HDF5) files
        raise DataFormatError(f"{path}: MATLAB v7.3 (HDF5) files are not supported; re-save "
                              f"with -v7 ({exc})") from exc
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from exc
    for key in keys:
        if key in mat:
            return {key: mat[key]}
    raise DataFormatError(f"{path}: none of the keys {list(keys)} found (expected "
                          f"{' or '.join(map(repr, keys))})")
