"""Estimators by name, fitted on one fold: the glue between fold tables, data sets and models.

Classical and torch estimators share the scikit-learn contract (``fit``/``predict``/
``predict_proba``), so one evaluation path serves both. Each entry of :data:`ESTIMATORS` is a
factory ``(params: dict, seed: int, threads: int) -> unfitted estimator``.
"""

from __future__ import annotations

import inspect
import logging
import os
import pickle
from typing import Any, Callable

import numpy as np
import pandas as pd
from .errors import LeakageError
from .io import atomic_path
from .registry import Registry
from .splits import select

__all__ = [
    "ESTIMATORS",
    "build_estimator",
    "PerSubjectEstimator",
    "balanced_accuracy",
    "fit_estimator",
    "fit_fold",
    "predict_fold",
    "fit_and_predict_fold",
    "validation_scores",
    "predictions_table",
    "save_estimator",
    "load_estimator",
    "write_predictions",
]

#: name -> factory ``(params, seed, threads) -> unfitted estimator``.
ESTIMATORS: Registry[Callable[..., Any]] = Registry("estimator")


@ESTIMATORS.register("lda")
def _lda(params: dict[str, Any], seed: int, threads: int):
    """Standardised LDA; LDA is deterministic, so ``seed`` and ``threads`` are unused."""
    # scikit-learn imported here, not at module level: a torch job is spared its ~1 s import
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # standardisation statistics come from the training users only (fit on the train fold)
    return make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(**params))


@ESTIMATORS.register("torch")
def _torch(params: dict[str, Any], seed: int, threads: int):
    """A :class:`~myoflow.torch_estimator.TorchClassifier` with ``params`` as its constructor values."""
    from .torch_estimator import TorchClassifier  # torch imported only where needed

    return TorchClassifier(**params, seed=seed, threads=threads)


def build_estimator(name: str, params: dict[str, Any], seed: int, threads: int = 1):
    """An unfitted estimator registered as ``name`` (``lda``, ``torch``); unknown names list the known."""
    return ESTIMATORS.get(name)(params, seed, threads)


class PerSubjectEstimator:
    """One estimator per subject, fitted on that subject's rows only and predicting its rows only:
    the within-user protocol as one job for every user instead of one job per user.

    ``fit`` and ``predict``/``predict_proba`` take the subject of every row as ``groups``; a
    subject not seen in ``fit`` cannot be predicted (a within-user model never sees another
    user). Every member is built by :func:`build_estimator` from the same ``name``, ``params`` and
    ``seed``, exactly as a one-user fold job builds its model, so pooling changes no score.
    Members that start from saved weights (``params['init_from']``, fine-tuning) start from the
    same file. ``classes_`` is the union of the members' classes; a member's probability of a
    class it never saw is 0.

    Pickled by :func:`save_estimator`; torch members travel as their own saved bytes.
    """

    def __init__(self, name: str, params: dict[str, Any], seed: int, threads: int = 1,
                 log: logging.Logger | None = None) -> None:
        self.name, self.params, self.seed, self.threads = name, dict(params), int(seed), int(threads)
        self._log = log

    def fit(self, X, y, X_val=None, y_val=None, groups=None, groups_val=None) -> "PerSubjectEstimator":
        if groups is None:
            raise ValueError("PerSubjectEstimator.fit needs the subject of every row (groups)")
        X, y, groups = np.asarray(X), np.asarray(y), np.asarray(groups)
        has_val = X_val is not None and len(X_val)
        if has_val and groups_val is None:
            raise ValueError("PerSubjectEstimator.fit: validation rows need their subjects (groups_val)")
        self.members_: dict[int, Any] = {}
        subjects = np.unique(groups)
        for i, subject in enumerate(subjects):
            mine = groups == subject
            member = build_estimator(self.name, dict(self.params), seed=self.seed, threads=self.threads)
            if has_val:
                val = np.asarray(groups_val) == subject
                fit_estimator(member, X[mine], y[mine], np.asarray(X_val)[val], np.asarray(y_val)[val],
                              groups=groups[mine], groups_val=np.asarray(groups_val)[val])
            else:
                fit_estimator(member, X[mine], y[mine], groups=groups[mine])
            check_normalisation_fitted_on(member, int(mine.sum()), int(subject))
            self.members_[int(subject)] = member
            if self._log is not None:
                self._log.info("subject %s (%d of %d): fitted on %d rows", subject, i + 1, len(subjects),
                               int(mine.sum()))
        self.classes_ = np.unique(np.concatenate([np.asarray(m.classes_) for m in self.members_.values()]))
        return self

    def predict_proba(self, X, groups=None) -> np.ndarray:
        if groups is None:
            raise ValueError("PerSubjectEstimator.predict_proba needs the subject of every row (groups)")
        X, groups = np.asarray(X), np.asarray(groups)
        unseen = sorted(set(np.unique(groups).tolist()) - set(self.members_))
        if unseen:
            raise ValueError(f"PerSubjectEstimator: no model was fitted for subject(s) {unseen}")
        proba = np.zeros((len(X), len(self.classes_)), dtype=np.float64)
        for subject in np.unique(groups):
            mine = groups == subject
            member = self.members_[int(subject)]
            columns = np.searchsorted(self.classes_, np.asarray(member.classes_))
            proba[np.ix_(np.flatnonzero(mine), columns)] = member.predict_proba(X[mine])
        return proba

    def predict(self, X, groups=None) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X, groups), axis=1)]

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_log", "members_")}
        if hasattr(self, "members_"):
            state["members_"] = {s: _member_bytes(m) for s, m in self.members_.items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        members = state.pop("members_", None)
        self.__dict__.update(state)
        self._log = None
        if members is not None:
            self.members_ = {s: _member_from_bytes(b) for s, b in members.items()}


def _member_bytes(est) -> tuple[str, bytes]:
    """A fitted estimator as bytes: a torch one as its own saved file, any other pickled."""
    if hasattr(est, "save"):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "member.model")
            est.save(path)
            with open(path, "rb") as f:
                return "torch", f.read()
    return "pickle", pickle.dumps(est)


def _member_from_bytes(packed: tuple[str, bytes]):
    kind, blob = packed
    if kind == "pickle":
        return pickle.loads(blob)  # written by _member_bytes (our own output)
    import io

    from .torch_estimator import TorchClassifier

    return TorchClassifier.load(io.BytesIO(blob))


def _group_kwargs(est, method: str, meta: pd.DataFrame) -> dict[str, Any]:
    """``groups=`` (the subject of every row) for a method that takes it (a per-subject model)."""
    fn = getattr(est, method)
    return {"groups": meta["subject"].to_numpy()} if "groups" in inspect.signature(fn).parameters else {}


def _fit_parameters(est) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(est.fit).parameters)


def fit_estimator(est, X_train, y_train, X_val=None, y_val=None, groups=None, groups_val=None):
    """Fit; estimators whose ``fit`` takes a validation set (torch: early stopping) get it, and
    those whose ``fit`` takes ``groups`` get the subject ids (scikit-learn estimators are fitted
    on X and y alone, as before)."""
    accepts = _fit_parameters(est)
    kwargs = {}
    if groups is not None and "groups" in accepts:
        kwargs["groups"] = groups
    if X_val is not None and len(X_val) and "X_val" in accepts:
        if groups_val is not None and "groups_val" in accepts:
            kwargs["groups_val"] = groups_val
        return est.fit(X_train, y_train, X_val, y_val, **kwargs)
    return est.fit(X_train, y_train, **kwargs)


def fit_fold(est, X: np.ndarray, y: np.ndarray, meta: pd.DataFrame, folds: pd.DataFrame, fold: int,
             log: logging.Logger, validate_on_test: bool = False):
    """Fit ``est`` on the fold's training items (validation items, if any, for early stopping);
    progress goes to ``log``. Returns ``est``.

    Estimators whose ``fit`` accepts ``groups`` get the training items' subject ids (and the
    validation items' as ``groups_val``), for losses that use the user.

    ``validate_on_test=True`` reproduces a source defect (HD-CNN ``test_set_checkpoint``): the
    fold's *test* items stand in for the validation set, so the epoch is chosen on test data.
    """
    train, val, test = (select(meta, folds, fold, role) for role in ("train", "validation", "test"))
    if validate_on_test:
        log.warning("fold %d: validating on the TEST items (as published: the epoch is chosen on test data)", fold)
        val = test
    log.info("fold %d: %d train, %d validation, %d test items", fold, train.sum(), val.sum(), test.sum())
    both = train & test
    if both.any():  # even a split declared leaky never fits on the very items it tests
        raise LeakageError(f"fold {fold}: {int(both.sum())} items are both training and test items")
    subject = meta["subject"].to_numpy() if "subject" in meta else None
    fit_estimator(est, X[train], y[train], X[val], y[val],
                  groups=None if subject is None else subject[train],
                  groups_val=None if subject is None else subject[val])
    check_normalisation_fitted_on(est, int(train.sum()), fold)
    return est  # torch estimators log each epoch as it ends (logger myoflow.training)


def check_normalisation_fitted_on(est, n_train: int, fold: int) -> None:
    """Raise :class:`~myoflow.errors.LeakageError` unless every standardisation step of ``est``
    (a scikit-learn pipeline's StandardScaler) saw exactly the fold's ``n_train`` training rows."""
    steps = getattr(est, "steps", None)
    if not steps:
        return  # not a pipeline (a torch estimator checks its own statistics)
    from sklearn.preprocessing import StandardScaler

    for name, step in steps:
        seen = getattr(step, "n_samples_seen_", None)
        if isinstance(step, StandardScaler) and seen is not None:
            seen = int(np.max(seen))
            if seen != n_train:
                raise LeakageError(
                    f"fold {fold}: normalisation step {name!r} was fitted on {seen} rows, the fold has "
                    f"{n_train} training rows (statistics must come from the training rows only)"
                )


def predict_fold(est, X: np.ndarray, y: np.ndarray, meta: pd.DataFrame, folds: pd.DataFrame, fold: int,
                 log: logging.Logger) -> pd.DataFrame:
    """Predictions table of the fold's test items by a fitted ``est``; the accuracy goes to ``log``."""
    test = select(meta, folds, fold, "test")
    table = predictions_table(est, X[test], meta[test], y[test])
    log.info("test accuracy %.3f", (table["y_true"] == table["y_pred"]).mean())
    return table


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y_true`` (scikit-learn's balanced accuracy,
    without importing it into torch jobs)."""
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def validation_scores(est, X: np.ndarray, y: np.ndarray, meta: pd.DataFrame, folds: pd.DataFrame,
                      fold: int) -> pd.DataFrame:
    """Per-subject accuracy and balanced accuracy of a fitted ``est`` on the fold's validation
    items (validation users or held-out repetitions of the training users): what model selection
    reads, never the test items. Empty (same columns) when the fold has no validation items."""
    val = select(meta, folds, fold, "validation")
    columns = ["subject", "n_windows", "accuracy", "balanced_accuracy"]
    if not val.any():
        return pd.DataFrame(columns=columns)
    y_true = np.asarray(y)[val]
    y_pred = np.asarray(est.predict(X[val], **_group_kwargs(est, "predict", meta[val])))
    subjects = meta["subject"].to_numpy()[val]
    rows = []
    for subject in np.unique(subjects):
        mine = subjects == subject
        rows.append({"subject": int(subject), "n_windows": int(mine.sum()),
                     "accuracy": float(np.mean(y_true[mine] == y_pred[mine])),
                     "balanced_accuracy": balanced_accuracy(y_true[mine], y_pred[mine])})
    return pd.DataFrame(rows, columns=columns)


def fit_and_predict_fold(est, X: np.ndarray, y: np.ndarray, meta: pd.DataFrame, folds: pd.DataFrame,
                         fold: int, log: logging.Logger, validate_on_test: bool = False) -> pd.DataFrame:
    """:func:`fit_fold` then :func:`predict_fold`: the test items' predictions table."""
    fit_fold(est, X, y, meta, folds, fold, log, validate_on_test=validate_on_test)
    return predict_fold(est, X, y, meta, folds, fold, log)


def save_estimator(path: str | os.PathLike, est) -> None:
    """Torch estimators save their own state; others are pickled. Atomic either way."""
    if hasattr(est, "save"):
        est.save(path)
        return
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(est, f)


def load_estimator(path: str | os.PathLike, device: str | None = None):
    """An estimator written by :func:`save_estimator` (torch's zip format, or a pickle)."""
    with open(path, "rb") as f:
        is_torch = f.read(4) == b"PK\x03\x04"  # torch.save writes a zip archive
    if is_torch:
        from .torch_estimator import TorchClassifier

        return TorchClassifier.load(path, device=device)
    with open(path, "rb") as f:
        return pickle.load(f)  # our own output (save_estimator), not foreign data


def predictions_table(est, X: np.ndarray, meta: pd.DataFrame, y_true: np.ndarray) -> pd.DataFrame:
    """Per-item predictions: identifying metadata, true and predicted label, class scores."""
    proba = est.predict_proba(X, **_group_kwargs(est, "predict_proba", meta))
    classes = np.asarray(getattr(est, "classes_", np.arange(proba.shape[1])))
    table = meta.reset_index(drop=True).copy()
    table["y_true"] = np.asarray(y_true)
    table["y_pred"] = classes[np.argmax(proba, axis=1)]
    for j, c in enumerate(classes):
        table[f"score_{c}"] = proba[:, j].astype(np.float32)
    return table


def write_predictions(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """Predictions table as gzipped CSV, written atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, compression="gzip", float_format="%.6g")

