"""Fold tables: which subjects / sessions / repetitions train, validate and test in each fold.

A fold table is a small CSV written by a rule, so every split is a file that can be read, diffed
and versioned. One row per (fold, role, subject, session) with the repetitions it covers::

    fold, role, subject, session, repetitions
    0,    train, 3,      1,       all
    2,    test,  7,      1,       2;3

``session`` -1 means every session; ``repetitions`` is ``all`` or a ``;``-separated list.
"""

from __future__ import annotations

import os
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import ConfigError, DataFormatError
from .io import atomic_path

ROLES = ("train", "validation", "test")
FOLD_COLUMNS = ["fold", "role", "subject", "session", "repetitions"]


def _rows(fold: int, role: str, subjects: Iterable[int], session: int = -1, reps="all") -> list[dict]:
    reps_text = reps if isinstance(reps, str) else ";".join(str(int(r)) for r in reps)
    return [{"fold": fold, "role": role, "subject": int(s), "session": session, "repetitions": reps_text}
            for s in subjects]


def fixed_user_split(subjects: Sequence[int], n_training: int, n_validation: int) -> pd.DataFrame:
    """EMG-EPN-612's fixed, never shuffled user split (one fold, ``0``).

    Users with id < ``n_training`` train (the ``trainingJSON`` users), the next ``n_validation``
    validate, all later ones test.
    """
    subjects = sorted(int(s) for s in subjects)
    train = [s for s in subjects if s < n_training]
    val = [s for s in subjects if n_training <= s < n_training + n_validation]
    test = [s for s in subjects if s >= n_training + n_validation]
    for role, members in (("train", train), ("validation", val), ("test", test)):
        if not members:
            raise ConfigError(
                f"fixed user split leaves no {role} users (subjects {subjects[:3]}..{subjects[-3:]}, "
                f"n_training={n_training}, n_validation={n_validation})"
            )
    return pd.DataFrame(_rows(0, "train", train) + _rows(0, "validation", val) + _rows(0, "test", test),
                        columns=FOLD_COLUMNS)


def within_user_split(subjects: Sequence[int], n_repetitions: int, train_repetitions: int) -> pd.DataFrame:
    """One fold per subject: its first ``train_repetitions`` repetitions (per gesture) train,
    the remaining ones test, so training and test repetitions never overlap."""
    if not 0 < train_repetitions < n_repetitions:
        raise ConfigError(
            f"within-user split needs 0 < train_repetitions < {n_repetitions}, got {train_repetitions}"
        )
    rows = []
    for fold, s in enumerate(sorted(int(s) for s in subjects)):
        rows += _rows(fold, "train", [s], reps=range(train_repetitions))
        rows += _rows(fold, "test", [s], reps=range(train_repetitions, n_repetitions))
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


def leave_one_subject_out(subjects: Sequence[int], session: int = -1) -> pd.DataFrame:
    """Fold ``k`` tests on the k-th subject (sorted) and trains on all others."""
    subjects = sorted(int(s) for s in subjects)
    if len(subjects) < 2:
        raise ConfigError(f"leave-one-subject-out needs at least 2 subjects, got {subjects}")
    rows = []
    for fold, held_out in enumerate(subjects):
        rows += _rows(fold, "train", [s for s in subjects if s != held_out], session)
        rows += _rows(fold, "test", [held_out], session)
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


def repetition_kfold(subjects: Sequence[int], repetitions: Sequence[int], k: int) -> pd.DataFrame:
    """K-fold over whole repetitions: fold i holds out the i-th group of repetitions of every subject."""
    reps = sorted(int(r) for r in repetitions)
    if not 2 <= k <= len(reps):
        raise ConfigError(f"repetition K-fold needs 2 <= k <= {len(reps)} repetitions, got k={k}")
    rows = []
    for fold, held_out in enumerate(np.array_split(np.array(reps), k)):
        rows += _rows(fold, "train", subjects, reps=[r for r in reps if r not in set(held_out)])
        rows += _rows(fold, "test", subjects, reps=held_out)
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


def write_fold_table(path: str | os.PathLike, table: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        table[FOLD_COLUMNS].to_csv(tmp, index=False)


def read_fold_table(path: str | os.PathLike) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype={"repetitions": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"{path}: not a readable fold table ({exc})") from exc
    missing = [c for c in FOLD_COLUMNS if c not in table.columns]
    if missing:
        raise DataFormatError(f"{path}: fold table lacks columns {missing}")
    bad = set(table["role"]) - set(ROLES)
    if bad:
        raise DataFormatError(f"{path}: unknown role(s) {sorted(bad)}; expected {list(ROLES)}")
    return table


def fold_ids(table: pd.DataFrame) -> list[int]:
    return sorted(int(f) for f in table["fold"].unique())


def select(meta: pd.DataFrame, table: pd.DataFrame, fold: int, role: str) -> np.ndarray:
    """Boolean mask of the metadata rows that play ``role`` in ``fold``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    mask = np.zeros(len(meta), dtype=bool)
    rows = table[(table["fold"] == fold) & (table["role"] == role)]
    subj = meta["subject"].to_numpy()
    sess = meta["session"].to_numpy()
    reps = meta["repetition"].to_numpy()
    for r in rows.itertuples(index=False):
        m = subj == r.subject
        if r.session != -1:
            m &= sess == r.session
        if str(r.repetitions) != "all":
            m &= np.isin(reps, [int(x) for x in str(r.repetitions).split(";")])
        mask |= m
    return mask
