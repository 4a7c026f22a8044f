"""Fold tables: which subjects / sessions / repetitions train, validate and test in each fold.

A fold table is a small CSV written by a rule, so every split is a file that can be read, diffed
and versioned. One row per (fold, role, subject, session) with the repetitions it covers::

    fold, role, subject, session, repetitions
    0,    train, 3,      1,       all
    2,    test,  7,      1,       2;3

``session`` -1 means every session; ``repetitions`` is ``all`` or a ``;``-separated list.
Two optional columns serve the as-published ``sample`` split, which cuts shuffled items (time
samples or images) into ``n_parts`` parts with the seeded permutation ``part_seed``: ``parts`` is
``all`` or the ``;``-separated part indices a row covers (``n_parts`` 0: no parts).

Every split is registered in :data:`SPLITS` under the name the config uses. Every fold table is
checked for leakage when written (:func:`check_fold_table`): no subject (cross-subject protocols),
session or repetition (within-subject protocols) may be both trained and tested on unless the split
is declared leaky.
"""

from __future__ import annotations

import os
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import ConfigError, DataFormatError, LeakageError
from .io import atomic_path
from .registry import Registry

ROLES = ("train", "validation", "test")
FOLD_COLUMNS = ["fold", "role", "subject", "session", "repetitions", "parts", "n_parts", "part_seed"]
_OPTIONAL_DEFAULTS = {"parts": "all", "n_parts": 0, "part_seed": 0}

#: what a split keeps apart between training and test: the unit the leakage guard checks
LEAKAGE_UNITS = ("subject", "session", "repetition")

#: name -> fold-table builder ``(items, **params) -> DataFrame``; ``items`` is a table with a row per
#: (subject, session, repetition) present in the data.
SPLITS: Registry = Registry("split")


def _ids_text(values) -> str:
    return values if isinstance(values, str) else ";".join(str(int(v)) for v in values)


def _rows(fold: int, role: str, subjects: Iterable[int], session: int = -1, reps="all",
          parts="all", n_parts: int = 0, part_seed: int = 0) -> list[dict]:
    return [{"fold": fold, "role": role, "subject": int(s), "session": int(session),
             "repetitions": _ids_text(reps), "parts": _ids_text(parts), "n_parts": int(n_parts),
             "part_seed": int(part_seed)}
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


#: what validates a cross-user model: the validation users, held-out repetitions of the
#: training users, or both
VALIDATION_SOURCES = ("users", "repetitions", "both")


def repetitions_per_gesture(meta: pd.DataFrame, subjects: Sequence[int]) -> pd.Series:
    """How many repetitions per gesture each of ``subjects`` recorded (its largest repetition index
    + 1), indexed by subject: what the within-user and incremental splits check r against."""
    mine = meta[meta["subject"].isin([int(s) for s in subjects])]
    return mine.groupby("subject")["repetition"].max().astype(int) + 1


def user_split(training: Sequence[int], validation: Sequence[int], test: Sequence[int], *,
               validation_source: str = "users", repetitions_of: dict[int, Sequence[int]] | None = None,
               validation_repetitions: int = 1) -> pd.DataFrame:
    """A fixed user split given by subject ids (one fold, ``0``); the roles must not overlap.

    ``validation_source``: ``users`` (the published protocol: the ``validation`` users validate),
    ``repetitions`` (each training user's last ``validation_repetitions`` repetitions per gesture
    validate instead of training; the validation users are not used) or ``both``. Held-out
    repetitions help where there are few validation users: with one, early stopping follows that
    one user's quirks. ``repetitions_of`` maps each training user to its repetition indices.
    """
    if validation_source not in VALIDATION_SOURCES:
        raise ConfigError(f"crossuser.split.validation: {validation_source!r} is not one of {list(VALIDATION_SOURCES)}")
    for role, members in (("train", training), ("validation", validation), ("test", test)):
        if role != "validation" and not members:
            raise ConfigError(f"user split leaves no {role} users")
    rows = []
    if validation_source == "users":
        rows += _rows(0, "train", sorted(training))
    else:
        k = int(validation_repetitions)
        for s in sorted(int(v) for v in training):
            reps = sorted(int(r) for r in (repetitions_of or {}).get(s, []))
            if k < 1 or len(reps) <= k:
                raise ConfigError(f"crossuser.split.validation_repetitions = {k}: training user {s} has "
                                  f"{len(reps)} repetition(s) per gesture; at least one must be left to train")
            rows += _rows(0, "train", [s], reps=reps[:-k]) + _rows(0, "validation", [s], reps=reps[-k:])
    if validation_source in ("users", "both"):
        rows += _rows(0, "validation", sorted(validation))
    return pd.DataFrame(rows + _rows(0, "test", sorted(test)), columns=FOLD_COLUMNS)


def within_user_split(subjects: Sequence[int], n_repetitions: int, train_repetitions: int,
                      validation_repetitions: int = 0, first_held_out: int | None = None,
                      pooled: bool = False) -> pd.DataFrame:
    """One fold per subject: its first ``train_repetitions`` repetitions (per gesture) train; the
    held-out repetitions from ``first_held_out`` on (default: right after the training ones)
    validate (the first ``validation_repetitions`` of them) and test (the rest), so training,
    validation and test repetitions never overlap.

    A sweep over ``train_repetitions`` passes the same ``first_held_out`` (the largest r of the
    sweep) to every r, so every point of the sweep is tested on the same repetitions.

    ``pooled=True`` puts every subject's rows in fold 0: one job then fits one model per subject
    (:class:`myoflow.estimators.PerSubjectEstimator`) instead of one job per subject.
    """
    held = int(train_repetitions if first_held_out is None else first_held_out)
    v = int(validation_repetitions)
    if not 0 < train_repetitions <= held or v < 0 or held + v >= n_repetitions:
        raise ConfigError(
            f"within-user split: {n_repetitions} repetitions per gesture do not hold {train_repetitions} "
            f"training (first), {v} validation and at least one test repetition after repetition {held}"
        )
    rows = []
    for index, s in enumerate(sorted(int(s) for s in subjects)):
        fold = 0 if pooled else index
        rows += _rows(fold, "train", [s], reps=range(train_repetitions))
        if v:
            rows += _rows(fold, "validation", [s], reps=range(held, held + v))
        rows += _rows(fold, "test", [s], reps=range(held + v, n_repetitions))
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


def user_ordering(ranking: pd.DataFrame, ordering: str, seed: int = 0) -> list[int]:
    """Training users in the order the incremental sweep adds them.

    ``ranking``: one row per training user, ``subject`` and ``balanced_accuracy`` (its within-user
    score). ``worst_first``: ascending score, ``best_first``: descending (ties by subject id),
    ``random``: a permutation seeded by ``seed`` (of the users sorted by id).
    """
    r = ranking.sort_values(["balanced_accuracy", "subject"], kind="stable")
    if ordering == "worst_first":
        return [int(s) for s in r["subject"]]
    if ordering == "best_first":
        return [int(s) for s in r.sort_values(["balanced_accuracy", "subject"], ascending=[False, True])["subject"]]
    if ordering == "random":
        ids = sorted(int(s) for s in ranking["subject"])
        return [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    raise ConfigError(f"user ordering {ordering!r}: expected worst_first, best_first or random")


def incremental_split(order: Sequence[int], n_users: int, repetitions: int, validation: Sequence[int],
                      test: Sequence[int]) -> pd.DataFrame:
    """One fold: the first ``n_users`` of ``order`` train on their first ``repetitions``
    repetitions per gesture; the validation users validate and the test users test (whole)."""
    if not 0 < n_users <= len(order):
        raise ConfigError(f"crossuser.incremental.users: {n_users} training users asked, the split has {len(order)}")
    if repetitions < 1:
        raise ConfigError(f"crossuser.incremental.repetitions: {repetitions}; at least 1")
    rows = _rows(0, "train", list(order)[:n_users], reps=range(repetitions))
    rows += _rows(0, "validation", sorted(validation)) + _rows(0, "test", sorted(test))
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


def cross_session(subjects: Sequence[int], pairs: Sequence[tuple[int, int]]) -> pd.DataFrame:
    """Fold k trains every subject on session ``pairs[k][0]`` and tests them on ``pairs[k][1]``."""
    subjects = sorted(int(s) for s in subjects)
    if not subjects:
        raise ConfigError("the cross-session split needs subjects recorded in both sessions, found none")
    rows = []
    for fold, (train_session, test_session) in enumerate(pairs):
        if train_session == test_session:
            raise ConfigError(f"cross-session fold {fold}: train and test session are both {train_session}")
        rows += _rows(fold, "train", subjects, int(train_session))
        rows += _rows(fold, "test", subjects, int(test_session))
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


def within_session_kfold(subjects: Sequence[int], session: int, repetitions: Sequence[int], k: int,
                         first_fold: int = 0) -> pd.DataFrame:
    """:func:`repetition_kfold` restricted to one session: fold ``first_fold + i`` holds out the
    i-th group of (consecutive) repetitions of every subject, the others of that session train."""
    try:
        table = repetition_kfold(subjects, repetitions, k)
    except ConfigError as err:
        raise ConfigError(f"session {session}: {err}") from None
    return table.assign(session=int(session), fold=table["fold"] + int(first_fold))


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


@SPLITS.register("subject")
def subject_split(items: pd.DataFrame) -> pd.DataFrame:
    """Leave one subject out: fold k tests on the k-th subject (sorted), every session."""
    return leave_one_subject_out(sorted(items["subject"].unique()))


@SPLITS.register("repetition")
def repetition_split(items: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """K-fold over whole repetitions (of every subject and session)."""
    return repetition_kfold(sorted(items["subject"].unique()), sorted(items["repetition"].unique()), k)


@SPLITS.register("session")
def session_split(items: pd.DataFrame) -> pd.DataFrame:
    """Leave one session out: fold k tests on the k-th session (sorted) of every subject that has
    it and trains on the other sessions (CSL-HDEMG: train on some days, test on another)."""
    sessions = sorted(int(s) for s in items["session"].unique())
    if len(sessions) < 2:
        raise ConfigError(f"the session split needs at least 2 sessions, the data has {sessions}")
    rows = []
    for fold, held_out in enumerate(sessions):
        for (subject, session), _ in items.groupby(["subject", "session"], sort=True):
            rows += _rows(fold, "test" if session == held_out else "train", [subject], session)
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


@SPLITS.register("sample")
def sample_split(items: pd.DataFrame, k: int = 5, seed: int = 0) -> pd.DataFrame:
    """The source's K-fold over shuffled items (time samples / images): LEAKY by design.

    Neighbouring samples of one repetition land in training and test; kept to measure how much
    of the published accuracy this inflates. Fold k tests on part k of a seeded permutation.
    """
    if k < 2:
        raise ConfigError(f"the sample split needs k >= 2 parts, got {k}")
    subjects = sorted(items["subject"].unique())
    rows = []
    for fold in range(k):
        rows += _rows(fold, "train", subjects, parts=[p for p in range(k) if p != fold], n_parts=k,
                      part_seed=seed)
        rows += _rows(fold, "test", subjects, parts=[fold], n_parts=k, part_seed=seed)
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


@SPLITS.register("finetune")
def finetune_split(items: pd.DataFrame, repetitions: int = 1) -> pd.DataFrame:
    """Subject-specific fine-tuning: fold k adapts to the k-th subject (sorted) on its first
    ``repetitions`` repetitions and tests on its other repetitions.

    The fold numbers are those of the ``subject`` split, whose fold-k model (trained on the other
    subjects) is the pretrained starting point, so no test repetition is ever seen in training.
    """
    subjects = sorted(int(s) for s in items["subject"].unique())
    if len(subjects) < 2:
        raise ConfigError(f"fine-tuning pretrains on the other subjects: it needs at least 2, got {subjects}")
    rows = []
    for fold, held_out in enumerate(subjects):
        reps = sorted(int(r) for r in items.loc[items["subject"] == held_out, "repetition"].unique())
        if not 1 <= repetitions < len(reps):
            raise ConfigError(f"hdcnn.finetune.repetitions = {repetitions}: subject {held_out} has "
                              f"{len(reps)} repetitions {reps}, expected 1 <= repetitions < {len(reps)}")
        rows += _rows(fold, "train", [held_out], reps=reps[:repetitions])
        rows += _rows(fold, "test", [held_out], reps=reps[repetitions:])
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


#: the unit each registered split keeps apart, and whether it is leaky by design
SPLIT_UNITS = {"subject": ("subject", False), "repetition": ("repetition", False),
               "session": ("session", False), "sample": ("repetition", True),
               "finetune": ("repetition", False)}


def n_folds(split: str, subjects: Sequence[int], sessions: Sequence[int], k: int) -> int:
    """Number of folds ``split`` makes, known before any data is read (for the run sheet)."""
    SPLITS.get(split)
    if split in ("subject", "finetune"):
        return len(set(subjects))
    if split == "session":
        return len(set(sessions))
    return int(k)


def _expand(values: str) -> set[int] | None:
    return None if str(values) == "all" else {int(v) for v in str(values).split(";") if v != ""}


def _overlaps(a, b) -> bool:
    """Do two id sets (None = all) overlap?"""
    if a is None or b is None:
        return True
    return bool(a & b)


def check_fold_table(table: pd.DataFrame, unit: str, leaky: bool = False, name: str = "fold table") -> None:
    """Raise :class:`~myoflow.errors.LeakageError` if any fold trains (or validates) on what it tests.

    ``unit``: ``subject`` (no subject in training/validation and test of a fold), ``session``
    (no subject x session in both), ``repetition`` (no subject x session x repetition in both;
    within-subject protocols). ``leaky=True`` (a split declared leaky, the as-published
    ``sample`` split) skips the check.
    """
    if unit not in LEAKAGE_UNITS:
        raise ValueError(f"leakage unit must be one of {LEAKAGE_UNITS}, got {unit!r}")
    if leaky:
        return
    problems = []
    for fold, rows in table.groupby("fold", sort=True):
        fit_rows = rows[rows["role"].isin(["train", "validation"])]
        test_rows = rows[rows["role"] == "test"]
        offending = set()
        for t in test_rows.itertuples(index=False):
            same = fit_rows[fit_rows["subject"] == t.subject]
            if unit == "subject":
                if len(same):
                    offending.add(f"subject {t.subject}")
                continue
            for f in same.itertuples(index=False):
                if f.session != -1 and t.session != -1 and f.session != t.session:
                    continue
                if unit == "session":
                    offending.add(f"subject {t.subject} session {t.session}")
                elif _overlaps(_expand(f.repetitions), _expand(t.repetitions)):
                    offending.add(f"subject {t.subject} session {t.session} repetitions "
                                  f"{f.repetitions} (train) / {t.repetitions} (test)")
        if offending:
            problems.append(f"fold {fold}: " + ", ".join(sorted(offending)))
    if problems:
        raise LeakageError(
            f"{name}: the same {unit} is in training and test (a leaky split must be declared):\n  "
            + "\n  ".join(problems)
        )


def write_fold_table(path: str | os.PathLike, table: pd.DataFrame, *, unit: str,
                     leaky: bool = False) -> None:
    """Write a fold table after :func:`check_fold_table` (nothing is written if it leaks)."""
    table = table.assign(**{c: table[c] if c in table else v for c, v in _OPTIONAL_DEFAULTS.items()})
    check_fold_table(table, unit, leaky=leaky, name=str(path))
    with atomic_path(path) as tmp:
        table[FOLD_COLUMNS].to_csv(tmp, index=False)


def read_fold_table(path: str | os.PathLike) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype={"repetitions": str, "parts": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"{path}: not a readable fold table ({exc})") from exc
    for column, default in _OPTIONAL_DEFAULTS.items():
        if column not in table.columns:
            table[column] = default
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
    part_cache: dict[tuple[int, int], np.ndarray] = {}
    # rows that differ only in their subject are matched in one pass (a pooled within-user fold
    # has one row per subject and role: hundreds of rows, a handful of distinct repetition sets)
    if "n_parts" not in rows:
        rows = rows.assign(n_parts=0, parts="all", part_seed=0)
    keys = ["session", "repetitions", "n_parts", "parts", "part_seed"]
    for (session, repetitions, n_parts, parts, part_seed), group in rows.astype({"repetitions": str, "parts": str}) \
            .groupby(keys, sort=False, dropna=False):
        m = np.isin(subj, group["subject"].to_numpy())
        if session != -1:
            m &= sess == session
        if repetitions != "all":
            m &= np.isin(reps, [int(x) for x in repetitions.split(";")])
        if int(n_parts) > 0 and parts != "all":
            key = (int(n_parts), int(part_seed))
            if key not in part_cache:
                part_cache[key] = item_parts(len(meta), *key)
            m &= np.isin(part_cache[key], [int(x) for x in parts.split(";")])
        mask |= m
    return mask


def item_parts(n_items: int, n_parts: int, seed: int) -> np.ndarray:
    """Part index of each item: a seeded permutation of the items cut into ``n_parts`` parts."""
    parts = np.empty(n_items, dtype=np.int64)
    parts[np.random.default_rng(seed).permutation(n_items)] = np.arange(n_items) % n_parts
    return parts
