"""Helpers shared by the dataset modules: option checks, path checks, consistency with the config."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


#: MAT-file v5 element types that hold data (everything but miMATRIX 14 and miCOMPRESSED 15)
_MAT5_DATA = frozenset({1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 16, 17, 18})
_MAT5_MATRIX, _MAT5_COMPRESSED = 14, 15
_MAT5_INT32, _MAT5_UINT32 = 5, 6
_MX_CELL, _MX_SPARSE = 1, 5
_MX_PLAIN = frozenset({4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})  # char, sparse, numeric


def _mat5_elements(buf: bytes, pos: int, end: int, bo: str, padded: bool, what: str):
    """Yield (type, body_start, body_end) of the tagged elements in ``buf[pos:end]``."""
    while end - pos >= 8:
        first, second = struct.unpack_from(bo + "II", buf, pos)
        if first >> 16:  # small data element: type and size share the first word
            mtype, nbytes = first & 0xFFFF, first >> 16
            if nbytes > 4:
                raise ValueError(f"{what}: small element claims {nbytes} bytes at offset {pos}")
            yield mtype, pos + 4, pos + 4 + nbytes
            pos += 8
            continue
        body = pos + 8
        if body + second > end:
            raise ValueError(f"{what}: element at offset {pos} runs past its container "
                             f"({second} bytes, {end - body} left): truncated or corrupt")
        yield first, body, body + second
        pos = body + second
        if padded and first != _MAT5_COMPRESSED:
            pos += -pos % 8


def _check_matrix(buf: bytes, start: int, end: int, bo: str, depth: int, what: str) -> None:
    if depth > 64:
        raise ValueError(f"{what}: arrays nested deeper than 64 levels")
    elements = list(_mat5_elements(buf, start, end, bo, True, what))
    if not elements:
        return  # an empty array
    if len(elements) < 3 or any(t not in _MAT5_DATA for t, _, _ in elements[:3]):
        raise ValueError(f"{what}: array at offset {start} lacks its flags/dims/name elements")
    t, b0, b1 = elements[0]
    if t != _MAT5_UINT32 or b1 - b0 != 8:  # scipy reads 8 bytes of flags whatever the tag says
        raise ValueError(f"{what}: array flags at offset {b0} are not 8 bytes of miUINT32")
    t, d0, d1 = elements[1]
    # MATLAB writes 2..32 dimensions; scipy's C code crashes on char arrays with none
    if t not in (_MAT5_INT32, _MAT5_UINT32) or not 8 <= d1 - d0 <= 128 or (d1 - d0) % 4:
        raise ValueError(f"{what}: array dimensions at offset {d0} are not 2..32 int32 values")
    flags = struct.unpack_from(bo + "I", buf, b0)[0]
    mx_class, is_complex = flags & 0xFF, flags >> 11 & 1
    if mx_class in _MX_PLAIN:
        # scipy reads the imaginary part (and sparse index arrays) without looking at the
        # array's end, taking whatever element follows: it must be there
        need = (3 if mx_class == _MX_SPARSE else 1) + is_complex
        if len(elements) - 3 < need:
            raise ValueError(f"{what}: array at offset {start} has {len(elements) - 3} data "
                             f"elements, its flags require {need}")
    for t, b0, b1 in elements[3:]:
        if t == _MAT5_MATRIX and mx_class not in _MX_PLAIN:
            _check_matrix(buf, b0, b1, bo, depth + 1, what)
        elif t not in _MAT5_DATA or (mx_class == _MX_CELL and t != _MAT5_MATRIX):
            raise ValueError(f"{what}: element type {t} at offset {b0} is not valid in an array of "
                             f"class {mx_class}")


def check_mat5(data: bytes, what: str) -> None:
    """Walk the element tags of a MAT-file v5 and raise ValueError on an invalid one.

    scipy's v5 reader (C code) indexes a table with the element type read from the file without
    a range check (scipy PR #25349), so a single corrupt byte can crash the interpreter with a
    segmentation fault instead of raising. Checking every tag first turns that into an error.
    Files that are not v5 (v4, v7.3/HDF5) are left to scipy.
    """
    if len(data) < 128 or data[126:128] not in (b"IM", b"MI"):
        return
    bo = "<" if data[126:128] == b"IM" else ">"
    if struct.unpack_from(bo + "H", data, 124)[0] != 0x0100:
        return
    for t, b0, b1 in _mat5_elements(data, 128, len(data), bo, False, what):
        if t == _MAT5_MATRIX:
            _check_matrix(data, b0, b1, bo, 0, what)
        elif t == _MAT5_COMPRESSED:
            try:
                inner = zlib.decompressobj().decompress(data[b0:b1])
            except zlib.error as exc:
                raise ValueError(f"{what}: compressed element at offset {b0}: {exc}") from exc
            for ti, c0, c1 in _mat5_elements(inner, 0, len(inner), bo, False, what):
                if ti != _MAT5_MATRIX:
                    raise ValueError(f"{what}: compressed element holds type {ti}, not an array")
                _check_matrix(inner, c0, c1, bo, 0, what)
        else:
            raise ValueError(f"{what}: top-level element type {t} at offset {b0} is not an array")


def _loadmat_checked(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """``scipy.io.loadmat`` of ``keys`` behind a structure check; any failure -> DataFormatError."""
    if not path.is_file():
        raise DataFormatError(f"{path}: file not found")
    try:
        data = path.read_bytes()
        check_mat5(data, str(path))
        # scipy raises a zoo of exception types (ValueError, TypeError, OSError, zlib.error,
        # MatReadError, struct.error, MemoryError ...) on corrupt files: all mean "unreadable"
        return scipy.io.loadmat(io.BytesIO(data), variable_names=list(keys))
    except NotImplementedError as exc:  # v7.3 (HDF5) files
        raise DataFormatError(f"{path}: MATLAB v7.3 (HDF5) files are not supported; re-save "
                              f"with -v7 ({exc})") from exc
    except DataFormatError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from exc


def load_mat(path: Path, *keys: str) -> dict[str, Any]:
    """Load a MATLAB (v4-v7.2) file; :class:`DataFormatError` naming ``path`` unless it holds one
    of ``keys`` (the first found is returned under its own name)."""
    mat = _loadmat_checked(path, keys)
    for key in keys:
        if key in mat:
            return {key: mat[key]}
    raise DataFormatError(f"{path}: none of the keys {list(keys)} found (expected "
                          f"{' or '.join(map(repr, keys))})")


def load_mat_keys(path: Path, *keys: str) -> dict[str, Any]:
    """Load a MATLAB (v4-v7.2) file and return all of ``keys``; :class:`DataFormatError` naming
    ``path`` and the missing keys if any is absent (the file is read once)."""
    mat = _loadmat_checked(path, keys)
    missing = [k for k in keys if k not in mat]
    if missing:
        raise DataFormatError(f"{path}: key(s) {missing} missing (expected {list(keys)})")
    return {k: mat[k] for k in keys}


def id_ranges(values: list[int]) -> str:
    """``[1, 2, 3, 5, 7, 8]`` -> ``"1..3, 5, 7..8"`` (sorted ids, for messages)."""
    if not values:
        return "none"
    parts, start = [], values[0]
    for prev, cur in zip(values, values[1:] + [None]):
        if cur is None or cur != prev + 1:
            parts.append(str(start) if start == prev else f"{start}..{prev}")
            start = cur
    text = ", ".join(parts[:20])
    return text + (" ..." if len(parts) > 20 else "")
