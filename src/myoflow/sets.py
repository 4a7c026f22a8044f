"""Array sets: the files that flow between windowing, features, training and evaluation.

A set is one HDF5 file holding named arrays whose first axis is the item axis (windows, samples,
images), a metadata table aligned with that axis, and JSON attributes (the parameters that made it,
so every file says how it was produced)::

    /arrays/<name>   (N, ...)
    /meta/<column>   (N,)
    attrs: params (JSON), plus free attributes
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .errors import DataFormatError
from .io import atomic_path


@dataclass
class ArraySet:
    """Arrays aligned on their first axis with a metadata table.

    Attributes
    ----------
    arrays : dict[str, np.ndarray]
        e.g. ``{"windows": (N, channels, samples)}`` or ``{"features": (N, F)}``.
    meta : pd.DataFrame
        N rows: subject, session, repetition, trial, label, ... one per item.
    attrs : dict
        JSON-serialisable description (parameters, names of features, fs, layout grid ...).
    """

    arrays: dict[str, np.ndarray]
    meta: pd.DataFrame
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.meta)
        for name, arr in self.arrays.items():
            if arr.shape[0] != n:
                # the source codebases let metadata drift out of alignment; refuse it here
                raise ValueError(f"array {name!r} has {arr.shape[0]} items but meta has {n} rows")

    def __len__(self) -> int:
        return len(self.meta)

    def subset(self, mask: np.ndarray) -> "ArraySet":
        """Items where ``mask`` is True (boolean or index array), keeping everything aligned."""
        return ArraySet(
            {k: v[mask] for k, v in self.arrays.items()},
            self.meta[mask].reset_index(drop=True) if np.asarray(mask).dtype == bool
            else self.meta.iloc[mask].reset_index(drop=True),
            dict(self.attrs),
        )


def write_set(path: str | os.PathLike, data: ArraySet) -> None:
    """Write an :class:`ArraySet` atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        g = f.create_group("arrays")
        for name, arr in data.arrays.items():
            g.create_dataset(name, data=arr, compression="gzip", compression_opts=1, shuffle=True)
        m = f.create_group("meta")
        for col in data.meta.columns:
            values = data.meta[col].to_numpy()
            if values.dtype.kind in "OUS":
                m.create_dataset(col, data=values.astype(str).astype(object), dtype=h5py.string_dtype())
            else:
                m.create_dataset(col, data=values)
        m.attrs["columns"] = json.dumps(list(data.meta.columns))
        f.attrs["attrs"] = json.dumps(data.attrs, default=_json_default)


def read_set(path: str | os.PathLike, arrays: list[str] | None = None) -> ArraySet:
    """Read an :class:`ArraySet`; ``arrays`` limits which arrays are loaded."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            names = list(f["arrays"]) if arrays is None else arrays
            missing = [n for n in names if n not in f["arrays"]]
            if missing:
                raise DataFormatError(f"{path}: no array(s) {missing}; has {list(f['arrays'])}")
            data = {n: f["arrays"][n][()] for n in names}
            cols = json.loads(f["meta"].attrs["columns"])
            meta = pd.DataFrame({
                c: (f["meta"][c].asstr()[()] if h5py.check_string_dtype(f["meta"][c].dtype)
                    else f["meta"][c][()])
                for c in cols
            })
            attrs = json.loads(f.attrs["attrs"])
    except (OSError, KeyError) as exc:
        raise DataFormatError(f"{path}: not a readable array-set file ({exc})") from exc
    return ArraySet(data, meta, attrs)


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)
