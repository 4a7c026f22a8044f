"""Hyser PR (256-channel HD-sEMG, Quattrocento, 2048 Hz): reader of its native WFDB layout, its
download source (PhysioNet) and its synthetic writer.

Layout (PhysioNet ``hd-semg/1.0.0/pr_dataset``): ``subjectXX_sessionY/`` folders with WFDB records
``{task}_{signal}_sample<k>.hea/.dat`` (256 channels) and ``label_{task}.txt`` (one comma-separated
line of gesture ids 1..34, one per sample k = 1..K). ``raw_dir`` is the folder holding the subject
folders (a ``pr_dataset/`` subfolder is also accepted). Subjects and sessions keep the numbers of
the folder names (1-based).

Samples are ordered gesture, trial, segment; ``segment`` and ``gesture_trial`` are derived from
that order with ``segments_per_trial``.

Options (besides :data:`~myoflow.datasets._common.COMMON_OPTIONS`):

``task``
    ``"dynamic"`` (default) or ``"maintenance"``.
``signal``
    ``"raw"`` (default) or ``"preprocess"``.
``gestures``
    Hyser gesture ids to keep, remapped to labels 0..n-1 in the given order (default: every id in
    the label file, ascending). List them explicitly so labels agree across subjects.
``segments_per_trial``
    Samples per trial of one gesture (default 3 for dynamic, 1 for maintenance).

Synthetic sets (:func:`write_synthetic`) hold ``dynamic_raw_sample<k>`` records and
``label_dynamic.txt`` of ``n_subjects`` subjects x ``sessions``, ``trials_per_gesture`` x
``segments_per_trial`` samples per gesture of ``gestures``.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import wfdb

from .. import synthetic as syn
from ..download import PhysioNetSource
from ..errors import ConfigError, DataFormatError
from ..layouts import hyser_16x16
from ..store import TRIAL_COLUMNS, Recording
from ._common import (check_options, existing_dir, finish, id_ranges, numbered, option_choice,
                      option_int_list)

NAME = "hyser"
FS = 2048.0
N_CHANNELS = 256
#: Hyser PR has gestures 1..34
N_GESTURE_IDS = 34
#: class names with the default options (every id 1..34 present, label = id - 1); the option
#: ``gestures`` keeps a subset, remapped to 0..n-1 in its order
GESTURES = [f"hyser_{g}" for g in range(1, N_GESTURE_IDS + 1)]
N_CLASSES = len(GESTURES)
LAYOUT = "hyser_16x16"
#: the published pr_dataset: subject01..subject20, two sessions (days) each
SUBJECTS = tuple(range(1, 21))
SESSIONS = (1, 2)
OPTIONS = {
    "task": "'dynamic' (default) or 'maintenance'",
    "signal": "'raw' (default) or 'preprocess'",
    "gestures": "Hyser gesture ids to keep, remapped to 0..n-1 in that order (default: all present)",
    "segments_per_trial": "samples per trial (default 3 dynamic, 1 maintenance)",
}
DEVICE = "OT Bioelettronica Quattrocento"
#: numpy dtype of the ADC values of each WFDB storage format we expect
_FMT_DTYPE = {"16": "int16", "80": "int16", "8": "int8", "24": "int32", "32": "int32", "61": "int16"}
_FMT_BYTES = {"16": 2, "61": 2, "24": 3, "32": 4, "80": 1, "8": 1}

SOURCE = PhysioNetSource(
    name=NAME,
    title="Hyser PR (PhysioNet hd-semg 1.0.0, pr_dataset)",
    landing_page="https://physionet.org/content/hd-semg/1.0.0/",
    citation="Jiang et al., IEEE TNSRE 2021, doi:10.1109/TNSRE.2021.3082551",
    licence="Open Data Commons Attribution License v1.0 (PhysioNet open access)",
    layout="the subjectXX_sessionY/ folders of pr_dataset/",
    project="hd-semg",
    version="1.0.0",
    subfolder="pr_dataset",
)


def _root(raw_dir: str | os.PathLike) -> Path:
    root = existing_dir(raw_dir, "Hyser PR folder with subjectXX_sessionY/ folders")
    if not _session_dirs(root) and (root / "pr_dataset").is_dir():
        root = root / "pr_dataset"
    return root


def _session_dirs(root: Path) -> dict[tuple[int, int], Path]:
    out = {}
    for p in root.iterdir():
        m = re.fullmatch(r"subject(\d+)_session(\d+)", p.name)
        if m and p.is_dir():
            out[(int(m.group(1)), int(m.group(2)))] = p
    return out


def list_recordings(raw_dir: str | os.PathLike, options: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """All (subject, session) pairs with a ``subjectXX_sessionY`` folder, sorted.

    Parameters
    ----------
    raw_dir : path
        The ``pr_dataset`` folder (or its parent).
    options : dict
        The dataset's reader options (see the module docstring).
    """
    check_options(options, OPTIONS, NAME)
    root = _root(raw_dir)
    found = _session_dirs(root)
    if not found:
        raise DataFormatError(f"{root}: no subjectXX_sessionY folders found (expected the Hyser "
                              "pr_dataset layout)")
    return sorted(found)


def read_labels(path: Path) -> list[int]:
    """Gesture ids of a ``label_<task>.txt`` file (one comma-separated line)."""
    if not path.is_file():
        raise DataFormatError(f"{path}: label file not found (expected one comma-separated line of "
                              "gesture ids)")
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not an ASCII label file ({exc})") from exc
    tokens = [t.strip() for t in text.replace("\n", ",").replace("\r", ",").split(",")]
    tokens = [t for t in tokens if t]
    try:
        ids = [int(float(t)) if float(t).is_integer() else None for t in tokens]
    except ValueError as exc:
        raise DataFormatError(f"{path}: expected comma-separated integer gesture ids ({exc})") from exc
    if not ids or any(i is None or not 1 <= i <= N_GESTURE_IDS for i in ids):
        raise DataFormatError(f"{path}: expected comma-separated gesture ids in 1..{N_GESTURE_IDS}, got "
                              f"{tokens[:10]}{'...' if len(tokens) > 10 else ''}")
    return ids  # type: ignore[return-value]


def _header_key(text: str, record: str) -> str | None:
    """The header text with what differs between sibling records (record name, initial value,
    checksum) masked; None if the text is not in the plain one-file layout this applies to."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith(f"{record} "):
        return None
    out = ["<rec>" + lines[0][len(record):]]
    for line in lines[1:]:
        fields = line.split()
        if fields and fields[0] == f"{record}.dat":
            if len(fields) < 7:
                return None
            fields[0], fields[5], fields[6] = "<rec>.dat", "*", "*"
        out.append(" ".join(fields))
    return "\n".join(out)


def _read_header(path: Path, cache: dict[str, wfdb.Record] | None = None) -> wfdb.Record:
    """Parse ``path.hea``; ``cache`` reuses the parse of a sibling with the same masked text.

    wfdb's header parser takes ~50 ms for 256 signals (pandas lookups per field), which dominates
    reading a Hyser session (hundreds of records with identical headers but for name/checksum).
    """
    hea = path.with_suffix(".hea")
    if not hea.is_file():
        raise DataFormatError(f"{hea}: WFDB header not found (expected one record per label)")
    key = None
    if cache is not None:
        try:
            key = _header_key(hea.read_text(encoding="ascii"), path.name)
        except (UnicodeDecodeError, OSError):
            key = None
        if key is not None and key in cache:
            header = copy.copy(cache[key])
            header.record_name = path.name
            header.file_name = [f"{path.name}.dat"] * header.n_sig
            return header
    header = _parse_header(path)
    if key is not None and cache is not None and set(header.file_name) == {f"{path.name}.dat"}:
        cache[key] = header
    return header


def _parse_header(path: Path) -> wfdb.Record:
    try:
        # wfdb raises many exception types on malformed headers; all mean "not a valid header"
        header = wfdb.rdheader(str(path))
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path.with_suffix('.hea')}: not a readable WFDB header "
                              f"({type(exc).__name__}: {exc})") from exc
    # wfdb accepts a header whose signal lines are fewer than its record line announces
    n_sig = header.n_sig or 0
    for field in ("file_name", "fmt", "adc_gain", "baseline", "units"):
        values = getattr(header, field, None)
        if values is None or len(values) != n_sig:
            raise DataFormatError(
                f"{path.with_suffix('.hea')}: the record line announces {n_sig} signals but "
                f"{0 if values is None else len(values)} signal lines give {field!r}"
            )
    if header.fs is None or not header.fs > 0 or header.sig_len is None:
        raise DataFormatError(f"{path.with_suffix('.hea')}: expected a positive sampling frequency "
                              f"and a record length, got fs={header.fs}, length={header.sig_len}")
    return header


def _read_digital(path: Path, header: wfdb.Record) -> np.ndarray:
    """(samples, channels) ADC values; the .dat size is checked first for a clear message."""
    fmt = str(header.fmt[0]) if header.fmt else ""
    files = set(header.file_name or [])
    if len(files) == 1 and fmt in _FMT_BYTES and len(set(header.fmt)) == 1 \
            and header.sig_len is not None and fmt != "24":
        dat = path.parent / next(iter(files))
        want = header.sig_len * header.n_sig * _FMT_BYTES[fmt]
        have = dat.stat().st_size if dat.is_file() else -1
        if have < 0:
            raise DataFormatError(f"{dat}: signal file not found (named by {path.with_suffix('.hea')})")
        if have < want:
            raise DataFormatError(f"{dat}: truncated: {have} bytes, expected {want} "
                                  f"({header.sig_len} samples x {header.n_sig} channels, format {fmt})")
    simple = (fmt == "16" and len(set(header.fmt)) == 1 and len(files) == 1
              and not any(header.byte_offset or []) and not any(header.skew or [])
              and set(header.samps_per_frame or [1]) == {1})
    if simple:
        # plain interleaved little-endian int16: read it directly instead of through
        # wfdb.rdrecord, which would parse the header a second time (half the reading time)
        dat = path.parent / next(iter(files))
        d = np.fromfile(dat, dtype="<i2", count=header.sig_len * header.n_sig)
        return d.reshape(header.sig_len, header.n_sig)
    try:
        rec = wfdb.rdrecord(str(path), physical=False, return_res=32)
    except Exception as exc:  # noqa: BLE001 - wfdb's exception types are undocumented
        raise DataFormatError(f"{path}.dat: cannot read WFDB signal ({type(exc).__name__}: {exc})") from exc
    d = rec.d_signal
    if d is None or d.ndim != 2 or d.shape != (header.sig_len, header.n_sig):
        raise DataFormatError(f"{path}.dat: expected {header.sig_len} x {header.n_sig} samples, got "
                              f"{None if d is None else d.shape}")
    return d


def read_recording(raw_dir: str | os.PathLike, subject: int, session: int,
                   options: Mapping[str, Any] | None) -> Recording:
    """Read one Hyser PR subject x session as a :class:`~myoflow.store.Recording`.

    Parameters
    ----------
    raw_dir : path
        The ``pr_dataset`` folder (or its parent).
    subject, session : int
        Numbers of the ``subjectXX_sessionY`` folder.
    options : dict
        ``task``, ``signal``, ``gestures``, ``segments_per_trial`` (see the module docstring).

    Returns
    -------
    Recording
        emg in mV (physical); ``raw_scale = 1 / adc_gain`` and ``raw_offset = -baseline / adc_gain``
        so that :meth:`~myoflow.store.Recording.raw_values` returns the ADC integers; trial columns
        :data:`~myoflow.store.TRIAL_COLUMNS` + ``gesture_id``, ``gesture_trial``, ``segment``,
        ``record``; active bounds -1 (the format has none).

    Raises
    ------
    DataFormatError
        Missing records, wrong channel count, records of different length, label count not equal
        to the record count, unreadable files; the message names the file.
    """
    opts = check_options(options, OPTIONS, NAME)
    task = option_choice(opts, "task", ("dynamic", "maintenance"), NAME)
    sig = option_choice(opts, "signal", ("raw", "preprocess"), NAME)
    keep = option_int_list(opts, "gestures", NAME)
    per_trial = opts.get("segments_per_trial", 3 if task == "dynamic" else 1)
    if isinstance(per_trial, bool) or not isinstance(per_trial, int) or per_trial < 1:
        raise ConfigError(f"reader {NAME!r}: option 'segments_per_trial' must be a positive integer, "
                          f"got {per_trial!r}")
    root = _root(raw_dir)
    folder = root / f"subject{subject:02d}_session{session}"
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: folder not found (expected subject{subject:02d}_session"
                              f"{session} in the Hyser pr_dataset layout)")
    label_path = folder / f"label_{task}.txt"
    labels = read_labels(label_path)
    records = numbered(list(folder.glob(f"{task}_{sig}_sample*.hea")), rf"{task}_{sig}_sample(\d+)\.hea")
    if sorted(records) != list(range(1, len(labels) + 1)):
        raise DataFormatError(
            f"{label_path}: {len(labels)} labels but the records {task}_{sig}_sample<k>.hea present "
            f"are k = {id_ranges(sorted(records))} (expected k = 1..{len(labels)})"
        )
    ids_present = sorted(set(labels))
    keep = keep if keep is not None else ids_present
    label_of = {gid: i for i, gid in enumerate(keep)}

    # one pass over the headers: channel count, length and scaling must agree before any reading
    headers, cache = {}, {}
    for k in range(1, len(labels) + 1):
        path = folder / f"{task}_{sig}_sample{k}"
        h = _read_header(path, cache)
        if h.n_sig != N_CHANNELS:
            raise DataFormatError(f"{path}.hea: {h.n_sig} channels, expected {N_CHANNELS}")
        headers[k] = h
    first = headers[1]
    for k, h in headers.items():
        if h.sig_len != first.sig_len or h.fs != first.fs:
            raise DataFormatError(
                f"{folder / f'{task}_{sig}_sample{k}'}.hea: {h.sig_len} samples at {h.fs} Hz, but "
                f"sample1 has {first.sig_len} samples at {first.fs} Hz (records of a task must agree)"
            )
    if not first.sig_len:
        raise DataFormatError(f"{folder / f'{task}_{sig}_sample1'}.hea: record has no samples")
    if "fs" in opts and float(opts["fs"]) != float(first.fs):
        raise DataFormatError(f"{folder / f'{task}_{sig}_sample1'}.hea: {first.fs} Hz, the config "
                              f"declares fs {opts['fs']}")
    gains = {float(g) for h in headers.values() for g in h.adc_gain}
    baselines = {int(b) for h in headers.values() for b in h.baseline}
    units = {str(u) for h in headers.values() for u in h.units}
    fmts = {str(f) for h in headers.values() for f in h.fmt}
    if len(units) != 1:
        raise DataFormatError(f"{folder}: records mix units {sorted(units)}; expected one unit (mV)")
    if 0.0 in gains:
        raise DataFormatError(f"{folder}: a record has ADC gain 0 (expected a positive gain)")
    uniform = len(gains) == 1 and len(baselines) == 1

    # per-gesture counters give repetition, trial and segment
    chosen = [k for k in range(1, len(labels) + 1) if labels[k - 1] in label_of]
    n = first.sig_len
    emg = np.empty((len(chosen) * n, N_CHANNELS), dtype=np.float32)
    rows = []
    seen: dict[int, int] = {}
    for i, k in enumerate(chosen):
        gid = labels[k - 1]
        path = folder / f"{task}_{sig}_sample{k}"
        h = headers[k]
        d = _read_digital(path, h)
        gain = np.asarray(h.adc_gain, dtype=np.float64)
        base = np.asarray(h.baseline, dtype=np.float64)
        emg[i * n:(i + 1) * n] = (d - base) / gain
        rep = seen.get(gid, 0)
        seen[gid] = rep + 1
        rows.append({
            "trial": i, "label": label_of[gid], "repetition": rep, "start": i * n,
            "stop": (i + 1) * n, "active_start": -1, "active_stop": -1, "gesture_id": gid,
            "gesture_trial": rep // per_trial, "segment": rep % per_trial, "record": k,
        })
    if not rows:
        raise DataFormatError(f"{label_path}: none of the gestures {keep} occurs (ids present: "
                              f"{ids_present})")
    trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS + ["gesture_id", "gesture_trial", "segment",
                                                         "record"])
    if uniform:
        gain, base = gains.pop(), baselines.pop()
        scale, offset = 1.0 / gain, -base / gain
        raw_dtype = _FMT_DTYPE.get(fmts.pop(), "int32") if len(fmts) == 1 else "int32"
    else:  # per-channel scaling cannot be expressed by the store's scalar raw_scale
        scale, offset, raw_dtype = 1.0, 0.0, "float32"
    rec = Recording(
        dataset=str(opts.get("dataset", NAME)), subject=int(subject), session=int(session),
        emg=emg, fs=float(first.fs), units=units.pop(), device=DEVICE, layout=hyser_16x16(),
        gesture_names=[f"hyser_{gid}" for gid in keep], trials=trials,
        raw_scale=scale, raw_offset=offset, raw_dtype=raw_dtype,
        extra={"task": task, "signal": sig, "folder": str(folder), "raw_lossless": uniform,
               "gesture_ids": list(keep)},
    )
    return finish(rec, opts, str(folder))


# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------

#: sizes of a synthetic set, then the physics
SYNTHETIC_DEFAULTS = {
    "n_subjects": 5,
    "sessions": [1],
    "gestures": [6, 7, 8, 9, 10, 11, 30, 31, 32, 34],
    "trials_per_gesture": 2,
    "segments_per_trial": 3,
    "segment_s": 1.0,
    "fs": 2048,
    **syn.PHYSICS_DEFAULTS,
}
#: Quattrocento: 16-bit ADC over +-5 V after a gain of 150 -> digital units per mV
ADC_GAIN = 983.04


def check_synthetic(params: dict) -> dict:
    """``params`` (complete: defaults merged in) checked and normalised; ConfigError naming a bad key."""
    c = syn.ParamCheck(NAME, params).physics()
    c.integer("n_subjects").int_list("sessions", 1, 99).int_list("gestures", 1, N_GESTURE_IDS)
    return c.integer("trials_per_gesture").integer("segments_per_trial").duration("segment_s").p


def synthetic_recordings(params: dict) -> list[tuple[int, int]]:
    """(subject, session) pairs :func:`list_recordings` finds after :func:`write_synthetic`."""
    p = check_synthetic(params)
    return sorted((s, k) for s in range(1, p["n_subjects"] + 1) for k in p["sessions"])


def _electrode_positions() -> np.ndarray:
    """(256, 2) electrode (x, y) in mm, channel order = Hyser storage order.

    Mosaic rows 0-7 are the extensor arrays (dorsal, centred at C/4), rows 8-15 the flexor arrays
    (volar, centred at 3C/4); mosaic columns run from the elbow (left) to the wrist (right).
    """
    rc = hyser_16x16().positions().astype(float)
    row, col = rc[:, 0], rc[:, 1]
    x = np.where(row < 8, syn.CIRCUMFERENCE_MM / 4 - 35.0 + 10.0 * row,
                 3 * syn.CIRCUMFERENCE_MM / 4 - 35.0 + 10.0 * (row - 8))
    y = 30.0 + 10.0 * col
    return np.stack([x, y], axis=1)


def write_synthetic(out_dir: Path, params: dict, seed: int) -> None:
    """Write ``subjectXX_sessionY/dynamic_raw_sample<k>.hea/.dat`` and ``label_dynamic.txt``."""
    p = check_synthetic(params)
    out = Path(out_dir)
    kind, fs, v = NAME, p["fs"], p["subject_variability"]
    n = int(round(p["segment_s"] * fs))
    positions = _electrode_positions()
    for s in range(1, p["n_subjects"] + 1):
        subj = syn._make_subject(seed, kind, (s,), v, ring=False)
        patterns = {g: syn._subject_pattern(seed, kind, subj, g,
                                            syn._numbered_pattern(seed, kind, g), v)
                    for g in p["gestures"]}
        for session in p["sessions"]:
            shift, rot, rng = syn._session_placement(seed, kind, subj, session, p, ring=False)
            amp = float(np.exp(rng.normal(0.0, 0.08)))  # skin impedance differs between days
            weights = amp * syn._mixing(syn._place(positions, shift, rot), subj)
            segments, labels = [], []
            for g in p["gestures"]:
                for _trial in range(p["trials_per_gesture"]):
                    for _seg in range(p["segments_per_trial"]):
                        # rest, then the gesture reaches full force within the first ~0.3 s
                        shape = syn._shape(n, rng.uniform(0.05, 0.15), rng.uniform(0.08, 0.15),
                                           None, 1.0)
                        segments.append(syn._Segment(n, syn._effort(rng, patterns[g]), shape))
                        labels.append(g)
            emg = syn._synthesize(rng, segments, subj, weights, fs, noise_mv=0.006, params=p)
            digital = np.clip(np.rint(emg * ADC_GAIN), -32768, 32767).astype(np.int16)
            folder = out / f"subject{s:02d}_session{session}"
            folder.mkdir(parents=True)
            for k in range(len(labels)):
                syn.write_wfdb16(folder, f"dynamic_raw_sample{k + 1}", digital[k * n:(k + 1) * n],
                                 fs, ADC_GAIN)
            (folder / "label_dynamic.txt").write_text(",".join(str(g) for g in labels) + "\n")
