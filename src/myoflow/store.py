"""The recording store: one HDF5 file per dataset x subject x session.

Layout of a file::

    /emg              float32 (samples, channels), physical units
    /layout_grid      int (rows, cols), channel index at each electrode position (-1: none)
    /trials/<column>  one 1-D dataset per trial-table column
    attrs: dataset, subject, session, fs, units, device, gesture_names (JSON), layout_name,
           layout_pitch_mm, raw_scale, raw_offset, raw_dtype, extra (JSON: provenance, preprocessing)

Conversion is lossless: ``raw = round((emg - raw_offset) / raw_scale)`` recovers the ADC values.
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
from .layouts import ElectrodeLayout

#: Trial-table columns every reader must fill. ``active_start``/``active_stop`` are sample indices
#: into ``emg`` (absolute, like ``start``/``stop``) of the ground-truth active segment, -1 if unknown.
TRIAL_COLUMNS = ["trial", "label", "repetition", "start", "stop", "active_start", "active_stop"]


@dataclass
class Recording:
    """One subject x session of one dataset, in physical units.

    Attributes
    ----------
    emg : np.ndarray
        float32 (samples, channels); trials are concatenated in time, located by ``trials``.
    trials : pd.DataFrame
        One row per trial/repetition with at least :data:`TRIAL_COLUMNS`; readers may add columns
        (e.g. ``gesture_id`` with the dataset's own id, ``sample_set`` for EPN-612's
        training/testing samples, ``segment`` for Hyser's dynamic segments).
    gesture_names : list[str]
        Name of each label value (index = label).
    """

    dataset: str
    subject: int
    session: int
    emg: np.ndarray
    fs: float
    units: str
    device: str
    layout: ElectrodeLayout
    gesture_names: list[str]
    trials: pd.DataFrame
    raw_scale: float = 1.0
    raw_offset: float = 0.0
    raw_dtype: str = "float32"
    extra: dict = field(default_factory=dict)

    @property
    def n_channels(self) -> int:
        return int(self.emg.shape[1])

    def trial_emg(self, row: int) -> np.ndarray:
        """EMG (samples, channels) of the trial at position ``row`` of the trial table."""
        t = self.trials.iloc[row]
        return self.emg[int(t["start"]) : int(t["stop"])]

    def raw_values(self) -> np.ndarray:
        """The ADC values the recording was converted from."""
        raw = (self.emg.astype(np.float64) - self.raw_offset) / self.raw_scale
        if np.dtype(self.raw_dtype).kind in "iu":
            return np.rint(raw).astype(self.raw_dtype)
        return raw.astype(self.raw_dtype)

    def validate(self, source: str = "<recording>") -> None:
        """Raise :class:`DataFormatError` naming ``source`` if the recording is inconsistent."""
        if self.emg.ndim != 2:
            raise DataFormatError(f"{source}: emg must be 2-D (samples, channels), got {self.emg.shape}")
        if not np.all(np.isfinite(self.emg)):
            bad = np.argwhere(~np.isfinite(self.emg))[0]
            raise DataFormatError(
                f"{source}: emg contains NaN/inf (first at sample {bad[0]}, channel {bad[1]})"
            )
        if self.layout.n_channels != self.emg.shape[1]:
            raise DataFormatError(
                f"{source}: layout {self.layout.name!r} has {self.layout.n_channels} channels, "
                f"emg has {self.emg.shape[1]}"
            )
        missing = [c for c in TRIAL_COLUMNS if c not in self.trials.columns]
        if missing:
            raise DataFormatError(f"{source}: trial table lacks columns {missing}")
        n = self.emg.shape[0]
        t = self.trials
        if len(t) and ((t["start"] < 0).any() or (t["stop"] > n).any() or (t["stop"] <= t["start"]).any()):
            raise DataFormatError(f"{source}: trial bounds outside 0..{n} or empty trials")
        labels = t["label"].to_numpy()
        if len(t) and (labels.min() < 0 or labels.max() >= len(self.gesture_names)):
            raise DataFormatError(
                f"{source}: labels must lie in 0..{len(self.gesture_names) - 1} "
                f"(gesture_names), got {labels.min()}..{labels.max()}"
            )


def write_recording(path: str | os.PathLike, rec: Recording) -> None:
    """Write ``rec`` to ``path`` atomically (a failure leaves no file behind)."""
    rec.validate(str(path))
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset(
            "emg", data=rec.emg.astype(np.float32), chunks=(min(len(rec.emg), 4096) or 1, rec.emg.shape[1]),
            compression="gzip", compression_opts=1, shuffle=True,
        )
        f.create_dataset("layout_grid", data=rec.layout.grid.astype(np.int32))
        g = f.create_group("trials")
        for col in rec.trials.columns:
            values = rec.trials[col].to_numpy()
            if values.dtype.kind in "OUS":
                g.create_dataset(col, data=np.asarray(values, dtype=object).astype(str).astype(object),
                                 dtype=h5py.string_dtype())
            else:
                g.create_dataset(col, data=values)
        g.attrs["columns"] = json.dumps(list(rec.trials.columns))
        a = f.attrs
        a["dataset"] = rec.dataset
        a["subject"] = int(rec.subject)
        a["session"] = int(rec.session)
        a["fs"] = float(rec.fs)
        a["units"] = rec.units
        a["device"] = rec.device
        a["gesture_names"] = json.dumps(list(rec.gesture_names))
        a["layout_name"] = rec.layout.name
        a["layout_pitch_mm"] = float(rec.layout.pitch_mm)
        a["raw_scale"] = float(rec.raw_scale)
        a["raw_offset"] = float(rec.raw_offset)
        a["raw_dtype"] = rec.raw_dtype
        a["extra"] = json.dumps(rec.extra, default=str)


def read_recording(path: str | os.PathLike) -> Recording:
    """Read a recording-store file; a missing key or corrupt file raises :class:`DataFormatError`."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            a = f.attrs
            cols = json.loads(f["trials"].attrs["columns"])
            trials = pd.DataFrame({
                c: (f["trials"][c].asstr()[()] if h5py.check_string_dtype(f["trials"][c].dtype)
                    else f["trials"][c][()])
                for c in cols
            })
            grid = f["layout_grid"][()]
            rec = Recording(
                dataset=str(a["dataset"]),
                subject=int(a["subject"]),
                session=int(a["session"]),
                emg=f["emg"][()],
                fs=float(a["fs"]),
                units=str(a["units"]),
                device=str(a["device"]),
                layout=ElectrodeLayout(str(a["layout_name"]), grid, float(a["layout_pitch_mm"])),
                gesture_names=json.loads(a["gesture_names"]),
                trials=trials,
                raw_scale=float(a["raw_scale"]),
                raw_offset=float(a["raw_offset"]),
                raw_dtype=str(a["raw_dtype"]),
                extra=json.loads(a["extra"]),
            )
    except (OSError, KeyError) as exc:
        raise DataFormatError(f"{path}: not a readable recording-store file ({exc})") from exc
    return rec
