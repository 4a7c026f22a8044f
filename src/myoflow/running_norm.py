"""RunningNorm: unsupervised per-channel test-time normalisation for a new user.

The cross-user study (``spec/study-crossuser.md``) evaluates every model with and without
*RunningNorm*: a per-channel streaming mean/variance normaliser that starts from the training
population's statistics, is updated as the test user's windows arrive (cumulatively, or as an
exponential moving average with time constant ``tau``) and is reset for each test user. It needs no
labels, so a model can absorb a new user's gain and offset (electrode placement, skin impedance,
forearm size) without calibration.

Provenance
----------
The public source code (``A-R-Hariri/EPN612_Cross_User``, all 65 commits: ``utils.py``
``eval_test``/``eval_within``, ``models.py``, the ``cross_*.py`` / ``within_*.py`` scripts and
``Analysis.ipynb``) contains **no** RunningNorm: evaluation there feeds ``x / 128`` straight to the
model (``models.py``, ``forward``). The option is described only in the thesis, which the spec
summarises as "started from the training population's statistics, updated per batch (cumulative, or
exponential with time constant tau), reset for each test user". Everything the spec leaves open is a
choice made here, each a named parameter:

- ``prior_count`` (cumulative mode): the population statistics count as that many windows of
  pseudo-data, so after ``n`` windows the mean is ``(n0 * mu_pop + sum of window means) / (n0 + n)``
  and the variance is the pooled variance of the pseudo-data and every sample seen
  (default :data:`DEFAULT_PRIOR_COUNT`).
- ``tau`` (EMA mode): time constant in *windows*; a batch of ``b`` windows is merged with weight
  ``alpha = 1 - exp(-b / tau)``, so the prior's weight after ``n`` windows is ``exp(-n / tau)``
  whatever the batch size (default :data:`DEFAULT_TAU`). Multiply by the window stride to read it in
  seconds (100 windows at a 25 ms stride = 2.5 s).
- ``update``: ``"before"`` (default) normalises each batch with the statistics of everything seen
  *before* it, so the first batch is normalised with the population statistics and the stream is
  causal (a window is never normalised with itself, as in a live controller); ``"after"`` first
  merges the batch and then normalises it (as test-time BatchNorm adaptation does).
- ``batch_size``: windows per update step (default 1, one update per window). The spec's "updated
  per batch" is ``batch_size=B``; a final shorter batch is merged with its own (smaller) weight.
- ``rescale``: ``False`` (default) returns z-scores ``(x - mean) / sqrt(var + eps)``, for a model
  trained on population-standardised inputs (RunningNorm with frozen statistics is then exactly the
  training normalisation). ``True`` maps back to population units,
  ``z * sqrt(var_pop + eps) + mu_pop``, for a model trained on unstandardised inputs; with the
  population statistics this is the identity.

Both modes merge a batch's per-channel mean ``m_b`` and (population) variance ``v_b`` into the state
as a two-component mixture with weight ``w`` on the batch: ``mean' = (1 - w) mean + w m_b`` and
``var' = (1 - w) var + w v_b + w (1 - w) (m_b - mean)^2``, with ``w = b / (count + b)`` (cumulative)
or ``w = alpha`` (EMA). Internally this is tracked as first and second raw moments of the data
centred and scaled by the population statistics (float64), which makes both modes linear
recurrences that are computed without a Python loop over windows.

Shapes
------
Raw windows ``(N, C, T)``: statistics per channel (axis 1) over windows and samples. Feature vectors
``(N, F)``: statistics per feature (axis 1) over windows. Any other layout: name the channel axis
with ``axis`` (e.g. ``axis=2`` for sub-window features ``(N, S, F)``); statistics are taken over every
other axis. Axis 0 is always the window (time-order) axis.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.signal import lfilter

from .errors import ConfigError

__all__ = [
    "DEFAULT_EPS",
    "DEFAULT_PRIOR_COUNT",
    "DEFAULT_TAU",
    "MODES",
    "UPDATES",
    "PopulationStats",
    "RunningNorm",
    "apply_running_norm",
    "fit_population_stats",
    "running_norm_inputs",
    "running_norm_inputs_own_statistics",
    "validate_params",
]

#: Update rules: running (cumulative) average with a prior weight, or exponential moving average.
MODES = ("cumulative", "ema")
#: Whether a batch is normalised with the statistics from before it or after merging it.
UPDATES = ("before", "after")
#: EMA time constant, in windows.
DEFAULT_TAU = 100.0
#: Weight of the population statistics in cumulative mode, in windows.
DEFAULT_PRIOR_COUNT = 100.0
#: Added to the variance before the square root (data units squared).
DEFAULT_EPS = 1e-8


class PopulationStats(NamedTuple):
    """Per-channel (or per-feature) mean and population variance (ddof 0), float64, shape (C,)."""

    mean: np.ndarray
    var: np.ndarray


# --------------------------------------------------------------------------------------------
# Parameter checks
# --------------------------------------------------------------------------------------------


def _is_real(value) -> bool:
    # bool is an int subclass; True as a time constant is a config slip, not a number
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def validate_params(
    mode: str = "cumulative",
    tau: float = DEFAULT_TAU,
    prior_count: float = DEFAULT_PRIOR_COUNT,
    update: str = "before",
    batch_size: int = 1,
    eps: float = DEFAULT_EPS,
) -> None:
    """Check RunningNorm's settings; raise :class:`~myoflow.errors.ConfigError` naming the bad value.

    Parameters
    ----------
    mode : {"cumulative", "ema"}
    tau : float
        EMA time constant in windows; positive and finite (checked in every mode, so a config typo
        does not lie dormant until someone switches to EMA).
    prior_count : float
        Weight of the population statistics in windows; finite and >= 0.
    update : {"before", "after"}
    batch_size : int
        Windows per update step; a positive integer.
    eps : float
        Positive and finite.

    Raises
    ------
    ConfigError
        A ``ValueError`` subclass; the message names the value and what was expected.
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ConfigError(f"RunningNorm mode {mode!r} is not one of {', '.join(map(repr, MODES))}")
    if not isinstance(update, str) or update not in UPDATES:
        raise ConfigError(f"RunningNorm update {update!r} is not one of {', '.join(map(repr, UPDATES))}")
    if not _is_real(tau) or not math.isfinite(tau) or tau <= 0:
        raise ConfigError(f"RunningNorm tau must be a positive finite number of windows (the EMA time constant), got {tau!r}")
    if not _is_real(prior_count) or not math.isfinite(prior_count) or prior_count < 0:
        raise ConfigError(
            f"RunningNorm prior_count must be a finite number of windows >= 0 (the weight of the population statistics), "
            f"got {prior_count!r}"
        )
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size < 1:
        raise ConfigError(f"RunningNorm batch_size must be a positive integer (windows per update), got {batch_size!r}")
    if not _is_real(eps) or not math.isfinite(eps) or eps <= 0:
        raise ConfigError(f"RunningNorm eps must be a positive finite number, got {eps!r}")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _as_nct(x: np.ndarray, axis: int) -> np.ndarray:
    """View ``x`` as (N, C, rest) with the channel axis second (no copy where possible)."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"RunningNorm expects an array (N, C, ...) or (N, F), got shape {x.shape}")
    ax = axis % x.ndim if -x.ndim <= axis < x.ndim else None
    if ax is None or ax == 0:
        raise ValueError(f"RunningNorm channel axis {axis} is invalid for shape {x.shape} (axis 0 is the window axis)")
    x = np.moveaxis(x, ax, 1)
    return x.reshape(x.shape[0], x.shape[1], -1)


def _from_nct(y: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Inverse of :func:`_as_nct` for an output of the input's shape."""
    ax = axis % len(shape)
    moved = list(shape)
    moved.insert(1, moved.pop(ax))
    return np.moveaxis(y.reshape(moved), 1, ax)


def fit_population_stats(X: np.ndarray, axis: int = 1, chunk: int = 65536) -> PopulationStats:
    """Per-channel mean and variance of the training population.

    Parameters
    ----------
    X : np.ndarray
        Training windows ``(N, C, T)`` (statistics over N and T) or features ``(N, F)`` (over N);
        any dtype (int8 is converted chunk by chunk, so the float64 copy never exceeds ``chunk``
        windows).
    axis : int
        Channel (feature) axis, 1 by default.
    chunk : int
        Windows per pass.

    Returns
    -------
    PopulationStats
        ``mean`` and ``var`` (ddof 0), float64, shape (C,). Every sample counts once, so users with
        more windows weigh more, as in the pooled training set the model saw.
    """
    x = _as_nct(X, axis)
    n = x.shape[0] * x.shape[2]
    if n == 0:
        raise ValueError(f"cannot fit population statistics on an empty array of shape {np.shape(X)}")
    # two passes (mean, then squared deviations) avoid the E[x^2] - mean^2 cancellation
    total = np.zeros(x.shape[1])
    for s in range(0, x.shape[0], chunk):
        total += x[s:s + chunk].sum(axis=(0, 2), dtype=np.float64)
    mean = total / n
    sq = np.zeros(x.shape[1])
    for s in range(0, x.shape[0], chunk):
        d = x[s:s + chunk].astype(np.float64) - mean[None, :, None]
        sq += np.einsum("nct,nct->c", d, d)
    return PopulationStats(mean, sq / n)


def _ema_moments(means: np.ndarray, alphas: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``M_b = (1 - a_b) M_{b-1} + a_b means_b`` for every batch b, from ``M_{-1} = start``.

    ``alphas`` is constant except possibly for the last (short) batch, so the recurrence runs as
    at most a few first-order IIR filters instead of a Python loop over windows.
    """
    out = np.empty_like(means)
    prev = start
    b = 0
    while b < len(alphas):
        e = b + 1
        while e < len(alphas) and alphas[e] == alphas[b]:
            e += 1
        a = alphas[b]
        out[b:e], _ = lfilter([a], [1.0, a - 1.0], means[b:e], axis=0, zi=((1.0 - a) * prev)[None, :])
        prev = out[e - 1]
        b = e
    return out


# --------------------------------------------------------------------------------------------
# The normaliser
# --------------------------------------------------------------------------------------------


class RunningNorm:
    """Streaming per-channel mean/variance normaliser started from population statistics.

    Parameters
    ----------
    mean, var : array-like, shape (C,)
        Training-population statistics (e.g. from :func:`fit_population_stats`).
    mode : {"cumulative", "ema"}
        Running average with ``prior_count`` pseudo-windows of the population, or exponential moving
        average with time constant ``tau`` (the population decays with weight ``exp(-n / tau)``).
    tau : float
        EMA time constant in windows (ignored in cumulative mode, but still validated).
    prior_count : float
        Weight of the population statistics in windows (cumulative mode). 0 uses the population
        statistics only until the first window arrives.
    update : {"before", "after"}
        Normalise each batch with the statistics from before it (causal; the first batch gets the
        population statistics) or after merging it.
    batch_size : int
        Windows per update step.
    axis : int
        Channel (feature) axis of the inputs; axis 0 is the window axis.
    eps : float
        Added to the variance before the square root.
    rescale : bool
        Return population units (``z * sqrt(var_pop + eps) + mu_pop``) instead of z-scores.

    Notes
    -----
    The object is stateful: :meth:`transform_stream` continues from where the previous call
    stopped (a new batch starts at every call), and :meth:`reset` returns to the population
    statistics; :func:`apply_running_norm` resets it for each user. See the module docstring for
    what the source does and which choices are made here.
    """

    def __init__(
        self,
        mean,
        var,
        mode: str = "cumulative",
        tau: float = DEFAULT_TAU,
        prior_count: float = DEFAULT_PRIOR_COUNT,
        update: str = "before",
        batch_size: int = 1,
        axis: int = 1,
        eps: float = DEFAULT_EPS,
        rescale: bool = False,
    ) -> None:
        validate_params(mode, tau, prior_count, update, batch_size, eps)
        mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        var = np.asarray(var, dtype=np.float64).reshape(-1)
        if mean.shape != var.shape or mean.size == 0:
            raise ValueError(f"RunningNorm mean and var must be 1-D of equal length, got shapes {mean.shape} and {var.shape}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var >= 0)):
            raise ValueError("RunningNorm population mean must be finite and var finite and >= 0")
        self.pop_mean, self.pop_var = mean, var
        self.mode, self.tau, self.prior_count = mode, float(tau), float(prior_count)
        self.update, self.batch_size, self.axis = update, int(batch_size), axis
        self.eps, self.rescale = float(eps), bool(rescale)
        # working coordinates u = (x - mu_pop) / s_pop; a dead channel (var 0) keeps scale 1
        self._scale = np.where(var > 0, np.sqrt(var), 1.0)
        self.reset()

    # state ------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every window seen; return to the population statistics."""
        self._m1 = np.zeros_like(self.pop_mean)  # E[u] of the population
        self._m2 = self.pop_var / self._scale**2  # E[u^2] of the population (1, or 0 on dead channels)
        self._count = self.prior_count if self.mode == "cumulative" else 0.0
        self.n_seen = 0

    @property
    def n_channels(self) -> int:
        return self.pop_mean.size

    @property
    def mean(self) -> np.ndarray:
        """Current per-channel mean (data units)."""
        return self.pop_mean + self._scale * self._m1

    @property
    def var(self) -> np.ndarray:
        """Current per-channel variance (data units)."""
        return self._scale**2 * np.maximum(self._m2 - self._m1**2, 0.0)

    # core ---------------------------------------------------------------------------------------

    def _window_moments(self, x3: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centred/scaled windows u (N, C, T) and their per-window E[u], E[u^2] (N, C)."""
        if x3.shape[1] != self.n_channels:
            raise ValueError(f"RunningNorm was started with {self.n_channels} channels, got {x3.shape[1]} on axis {self.axis}")
        u = (x3.astype(np.float64) - self.pop_mean[None, :, None]) / self._scale[None, :, None]
        return u, u.mean(axis=2), (u * u).mean(axis=2)

    def _run(self, x3: np.ndarray):
        """Per-window moments used for normalisation (N, C) x 2 and the updated state."""
        u, w1, w2 = self._window_moments(x3)
        n = u.shape[0]
        starts = np.arange(0, n, self.batch_size)
        sizes = np.diff(np.append(starts, n)).astype(np.float64)
        s1, s2 = np.add.reduceat(w1, starts, axis=0), np.add.reduceat(w2, starts, axis=0)
        if self.mode == "cumulative":
            counts = self._count + np.cumsum(sizes)
            m1 = (self._count * self._m1 + np.cumsum(s1, axis=0)) / counts[:, None]
            m2 = (self._count * self._m2 + np.cumsum(s2, axis=0)) / counts[:, None]
            count = counts[-1]
        else:
            alphas = -np.expm1(-sizes / self.tau)  # 1 - exp(-b / tau), exact for small b / tau
            m1 = _ema_moments(s1 / sizes[:, None], alphas, self._m1)
            m2 = _ema_moments(s2 / sizes[:, None], alphas, self._m2)
            count = self._count + sizes.sum()
        if self.update == "before":
            use1 = np.vstack([self._m1[None], m1[:-1]])
            use2 = np.vstack([self._m2[None], m2[:-1]])
        else:
            use1, use2 = m1, m2
        rep = sizes.astype(np.intp)
        return u, np.repeat(use1, rep, axis=0), np.repeat(use2, rep, axis=0), (m1[-1], m2[-1], count)

    def _normalise(self, u: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
        s2 = self._scale**2
        v = np.maximum(m2 - m1**2, 0.0) * s2  # variance in data units
        z = self._scale[None, :, None] * (u - m1[:, :, None]) / np.sqrt(v + self.eps)[:, :, None]
        if self.rescale:
            z = z * np.sqrt(self.pop_var + self.eps)[None, :, None] + self.pop_mean[None, :, None]
        return z

    # public -------------------------------------------------------------------------------------

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Normalise with the current statistics, without updating them. Returns float64, x's shape."""
        x3 = _as_nct(x, self.axis)
        u, _, _ = self._window_moments(x3)
        n = u.shape[0]
        z = self._normalise(u, np.broadcast_to(self._m1, (n, self.n_channels)), np.broadcast_to(self._m2, (n, self.n_channels)))
        return _from_nct(z, np.shape(x), self.axis)

    def partial_fit(self, x: np.ndarray) -> RunningNorm:
        """Merge windows ``x`` (in temporal order) into the statistics without normalising them."""
        x3 = _as_nct(x, self.axis)
        if x3.shape[0]:
            *_, state = self._run(x3)
            self._m1, self._m2, self._count = state
            self.n_seen += x3.shape[0]
        return self

    def transform_stream(self, x: np.ndarray, return_stats: bool = False):
        """Normalise windows ``x`` in temporal order (axis 0), updating the statistics as they arrive.

        Parameters
        ----------
        x : np.ndarray
            ``(N, C, T)`` raw windows or ``(N, F)`` features (channel axis ``self.axis``), oldest first.
        return_stats : bool
            Also return the per-window mean and variance each window was normalised with.

        Returns
        -------
        np.ndarray or (np.ndarray, np.ndarray, np.ndarray)
            Normalised windows (float64, x's shape); with ``return_stats``, also ``means`` and
            ``vars`` of shape (N, C) in data units.
        """
        x3 = _as_nct(x, self.axis)
        n = x3.shape[0]
        if n == 0:
            out = np.zeros(np.shape(x), dtype=np.float64)
            empty = np.zeros((0, self.n_channels))
            return (out, empty, empty.copy()) if return_stats else out
        u, m1, m2, state = self._run(x3)
        z = self._normalise(u, m1, m2)
        self._m1, self._m2, self._count = state
        self.n_seen += n
        out = _from_nct(z, np.shape(x), self.axis)
        if not return_stats:
            return out
        means = self.pop_mean[None] + self._scale[None] * m1
        varis = self._scale[None] ** 2 * np.maximum(m2 - m1**2, 0.0)
        return out, means, varis

    def __repr__(self) -> str:
        return (
            f"RunningNorm(channels={self.n_channels}, mode={self.mode!r}, tau={self.tau:g}, prior_count={self.prior_count:g}, "
            f"update={self.update!r}, batch_size={self.batch_size}, n_seen={self.n_seen})"
        )


# --------------------------------------------------------------------------------------------
# Per-user application
# --------------------------------------------------------------------------------------------


def _sort_keys(order, n: int) -> list[np.ndarray]:
    """Sort keys, primary first, from None, an (N,) array, a (K, N) array, a sequence or a DataFrame."""
    if order is None:
        return []
    if hasattr(order, "columns"):  # a DataFrame: its columns, left to right
        keys = [np.asarray(order[c]) for c in order.columns]
    elif isinstance(order, np.ndarray) and order.ndim == 1:
        keys = [order]
    elif isinstance(order, np.ndarray):
        keys = list(order)
    elif isinstance(order, Sequence):
        keys = [np.asarray(k) for k in order]
    else:
        keys = [np.asarray(order)]
    for k in keys:
        if k.shape != (n,):
            raise ValueError(f"apply_running_norm order keys must each have shape ({n},), got {k.shape}")
    return keys


def apply_running_norm(
    X: np.ndarray,
    users: np.ndarray,
    order=None,
    stats: PopulationStats | tuple[np.ndarray, np.ndarray] | None = None,
    mode: str = "cumulative",
    tau: float = DEFAULT_TAU,
    prior_count: float = DEFAULT_PRIOR_COUNT,
    update: str = "before",
    batch_size: int = 1,
    axis: int = 1,
    eps: float = DEFAULT_EPS,
    rescale: bool = False,
    dtype=np.float32,
) -> np.ndarray:
    """Normalise every user's windows with a RunningNorm reset for that user.

    Parameters
    ----------
    X : np.ndarray
        ``(N, C, T)`` raw windows or ``(N, F)`` features of the test users, any row order.
    users : np.ndarray, shape (N,)
        User (subject) id of each row.
    order : None, array (N,), array (K, N), sequence of K arrays, or DataFrame
        Recording order within a user, primary key first (e.g. ``(trial, start)``). Ties keep the
        given row order; None keeps the row order as it is.
    stats : PopulationStats or (mean, var)
        Training-population statistics, e.g. :func:`fit_population_stats` on the training windows.
    mode, tau, prior_count, update, batch_size, axis, eps, rescale
        As for :class:`RunningNorm`.
    dtype : numpy dtype
        Of the result.

    Returns
    -------
    np.ndarray
        ``X`` normalised, same shape and row order as ``X``.
    """
    if stats is None:
        raise ValueError("apply_running_norm needs the training-population stats (mean, var); see fit_population_stats")
    X = np.asarray(X)
    users = np.asarray(users)
    n = X.shape[0] if X.ndim else 0
    if users.shape != (n,):
        raise ValueError(f"apply_running_norm users must have shape ({n},), got {users.shape}")
    rn = RunningNorm(stats[0], stats[1], mode=mode, tau=tau, prior_count=prior_count, update=update,
                     batch_size=batch_size, axis=axis, eps=eps, rescale=rescale)
    out = np.empty(X.shape, dtype=dtype)
    if n == 0:
        return out
    keys = _sort_keys(order, n)
    # lexsort takes the primary key last: users, then the recording order; it is stable for ties
    perm = np.lexsort([*reversed(keys), users]) if keys else np.argsort(users, kind="stable")
    bounds = np.flatnonzero(users[perm][1:] != users[perm][:-1]) + 1
    for idx in np.split(perm, bounds):
        rn.reset()  # a new user starts again from the population
        out[idx] = rn.transform_stream(X[idx])
    return out


#: metadata columns that give the recording order within a user, primary key first
ORDER_COLUMNS = ("session", "trial", "start")


def running_norm_inputs(
    X: np.ndarray,
    meta,
    stats: PopulationStats | tuple[np.ndarray, np.ndarray],
    rows: np.ndarray,
    mode: str = "cumulative",
    tau: float = DEFAULT_TAU,
    prior_count: float = DEFAULT_PRIOR_COUNT,
    update: str = "before",
    batch_size: int = 1,
    axis: int = 1,
) -> np.ndarray:
    """A model's test inputs under RunningNorm: ``X`` (float32) with the ``rows`` (a boolean mask,
    the test users' windows) normalised per user in recording order, back in population units.

    ``rescale=True`` maps each user's running z-scores onto the training population's mean and
    variance, so a model trained on unnormalised inputs (MHCNN on raw windows, a standardising
    LDA pipeline) needs no change: with the population statistics it is the identity. The order
    within a user is ``meta``'s (session, trial, start) where those columns exist. Channels are
    ``axis`` (1: ``(N, C, T)`` windows, ``(N, F)`` features; 2: ``(N, pieces, F)`` sub-window features).
    """
    rows = np.asarray(rows, dtype=bool)
    out = np.array(X, dtype=np.float32)  # one copy, whatever X's dtype
    if not rows.any():
        return out
    sub = meta[rows]
    order = [sub[c].to_numpy() for c in ORDER_COLUMNS if c in sub.columns] or None
    out[rows] = apply_running_norm(out[rows], sub["subject"].to_numpy(), order=order, stats=stats, mode=mode,
                                   tau=tau, prior_count=prior_count, update=update, batch_size=batch_size,
                                   axis=axis, rescale=True, dtype=np.float32)
    return out


def running_norm_inputs_own_statistics(
    X: np.ndarray,
    meta,
    rows: np.ndarray,
    train_X: np.ndarray,
    train_meta,
    train_rows: np.ndarray,
    axis: int = 1,
    **params,
) -> np.ndarray:
    """:func:`running_norm_inputs` where each user's RunningNorm starts from that user's own
    training windows (the ``train_rows`` of ``train_X`` whose subject is the user), not from a
    pooled population: a within-user model's training population is its one user. ``params``:
    ``mode``, ``tau``, ``prior_count``, ``update``, ``batch_size``."""
    rows, train_rows = np.asarray(rows, dtype=bool), np.asarray(train_rows, dtype=bool)
    out = np.array(X, dtype=np.float32)
    subjects, train_subjects = meta["subject"].to_numpy(), train_meta["subject"].to_numpy()
    for subject in np.unique(subjects[rows]):
        own = train_rows & (train_subjects == subject)
        if not own.any():
            raise ValueError(f"RunningNorm: user {subject} has test windows but no training windows "
                             "to start its statistics from")
        stats = fit_population_stats(train_X[own], axis=axis)
        test = rows & (subjects == subject)
        out[test] = running_norm_inputs(X[test], meta[test], stats, np.ones(int(test.sum()), bool), axis=axis,
                                        **params)
    return out
