"""Compiled (numba) kernels for the features whose numpy form needs many passes over the data.

Each kernel walks a small block of series at a time, transposed into (samples, block) buffers
that stay in L1 cache, so the innermost loops run across series: they vectorise (SIMD) while
every series still sees exactly the operations, in the order, of the reference it reproduces.
``cache=True`` keeps the compiled code next to this file, so only the first process compiles;
``error_model="numpy"`` gives inf/nan on a division by zero, as numpy does, instead of raising.
"""

from __future__ import annotations

import numba
import numpy as np

#: series handled together: the (samples, block) buffers stay in L1, the lanes fill SIMD registers
BLOCK = 64

_TINY = np.finfo(np.float64).tiny  # librosa's util.tiny(den) for float64


@numba.njit(cache=True, nogil=True, error_model="numpy")
def burg_lpc(y, order):  # pragma: no cover - compiled; tested through features.AR/CC
    """Burg's method exactly as librosa 0.11 ``__lpc`` for every row of y (S, n), n > order.

    Returns a (S, order) array of a_1..a_order (librosa returns [1, a_1, ...]; LibEMG drops the 1).
    librosa's sums are numba's sequential ``np.sum`` over time; here too, per series, in the
    same order, with the reflection coefficient, Levinson update, error updates and the
    denominator recursion of librosa, step for step.
    """
    n_series, n = y.shape
    out = np.empty((n_series, order))
    m0 = n - 1
    fwd = np.empty((m0, BLOCK))
    bwd = np.empty((m0, BLOCK))
    a = np.zeros((order + 1, BLOCK))
    a_prev = np.zeros((order + 1, BLOCK))
    den = np.empty(BLOCK)
    k = np.empty(BLOCK)
    for s0 in range(0, n_series, BLOCK):
        nb = min(BLOCK, n_series - s0)
        for j in range(nb):
            for t in range(m0):
                fwd[t, j] = y[s0 + j, t + 1]
                bwd[t, j] = y[s0 + j, t]
        for j in range(nb):
            den[j] = 0.0
        for t in range(m0):
            for j in range(nb):
                den[j] += fwd[t, j] ** 2 + bwd[t, j] ** 2
        for r in range(order + 1):
            for j in range(nb):
                a[r, j] = 0.0
                a_prev[r, j] = 0.0
        for j in range(nb):
            a[0, j] = 1.0
            a_prev[0, j] = 1.0
        # fwd error of this order: fwd[start + t], bwd error: bwd[t], t < length
        start = 0
        length = m0
        for i in range(order):
            for j in range(nb):
                k[j] = 0.0
            for t in range(length):
                for j in range(nb):
                    k[j] += bwd[t, j] * fwd[start + t, j]
            for j in range(nb):
                k[j] *= -2.0
                k[j] /= den[j] + _TINY
            a, a_prev = a_prev, a
            for r in range(1, i + 2):
                for j in range(nb):
                    a[r, j] = a_prev[r, j] + k[j] * a_prev[i - r + 1, j]
            for t in range(length):
                for j in range(nb):
                    f_old = fwd[start + t, j]
                    b_old = bwd[t, j]
                    fwd[start + t, j] = f_old + k[j] * b_old
                    bwd[t, j] = b_old + k[j] * f_old
            for j in range(nb):
                q = 1.0 - k[j] ** 2
                den[j] = q * den[j] - bwd[length - 1, j] ** 2 - fwd[start, j] ** 2
            start += 1
            length -= 1
        for j in range(nb):
            for r in range(order):
                out[s0 + j, r] = a[r + 1, j]
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def median_frequency_bins(pw, total):  # pragma: no cover - compiled; tested through features.MDF
    """Index of the first bin whose cumulative power exceeds half the total, per row of pw (S, F).

    LibEMG: ``argwhere(cumsum(pow) > sum(pow) / 2)[0]``; ``total`` is numpy's row sum (its
    pairwise order), the cumulative sum is sequential like ``np.cumsum``; 0 when no bin does
    (an all-zero window, where LibEMG raises IndexError).
    """
    n_series, n_bins = pw.shape
    out = np.zeros(n_series, dtype=np.int64)
    for s in range(n_series):
        half = total[s] / 2
        cum = 0.0
        for f in range(n_bins):
            cum += pw[s, f]
            if cum > half:
                out[s] = f
                break
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def scaled_power(spec, n_bins, n):  # pragma: no cover - compiled; tested through the spectral features
    """|spec / n|**2 of the first n_bins bins of every row of spec (S, >= n_bins), complex.

    As numpy computes LibEMG's ``real(s * conj(s))`` with ``s = fft(x) / n``: the complex
    division by a real n is a multiplication by 1/n (numpy's complex divide), then re^2 + im^2.
    """
    n_series = spec.shape[0]
    out = np.empty((n_series, n_bins))
    scale = 1.0 / n
    for s in range(n_series):
        for f in range(n_bins):
            re = spec[s, f].real * scale
            im = spec[s, f].imag * scale
            out[s, f] = re * re + im * im
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _load_block(x, s0, nb, buf, acc):  # pragma: no cover - compiled
    """Rows s0 .. s0+nb of x into buf (n, BLOCK), transposed; zero the accumulators acc (k, BLOCK)."""
    for j in range(nb):
        for t in range(x.shape[1]):
            buf[t, j] = x[s0 + j, t]
    for r in range(acc.shape[0]):
        for j in range(nb):
            acc[r, j] = 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _store_block(acc, s0, nb, out):  # pragma: no cover - compiled
    for r in range(acc.shape[0]):
        for j in range(nb):
            out[r, s0 + j] = acc[r, j]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def difference_sums(x):  # pragma: no cover - compiled; tested through the features using them
    """Per row of x (S, n), n >= 3: sum|d1|, sum|d2|, sum d1^2, sum d2^2, with d1 = diff(x) and
    d2 = diff(d1) (d2 from the rounded d1, like ``np.diff(np.diff(x))``). Returns (4, S)."""
    n_series, n = x.shape
    out = np.zeros((4, n_series))
    buf = np.empty((n, BLOCK))
    acc = np.empty((4, BLOCK))
    for s0 in range(0, n_series, BLOCK):
        nb = min(BLOCK, n_series - s0)
        _load_block(x, s0, nb, buf, acc)
        for t in range(n - 2):
            for j in range(nb):
                d1 = buf[t + 1, j] - buf[t, j]
                d1_next = buf[t + 2, j] - buf[t + 1, j]
                d2 = d1_next - d1
                acc[0, j] += abs(d1)
                acc[1, j] += abs(d2)
                acc[2, j] += d1 * d1
                acc[3, j] += d2 * d2
        for j in range(nb):  # the last first difference has no second difference
            d1 = buf[n - 1, j] - buf[n - 2, j]
            acc[0, j] += abs(d1)
            acc[2, j] += d1 * d1
        _store_block(acc, s0, nb, out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def difference_counts(x, ssc_threshold, wamp_threshold):  # pragma: no cover - compiled
    """Per row of x (S, n), n >= 3, LibEMG's counts, returned as (3, S) float64:

    * ZC: sign changes ``diff(sign(x)) == +-2`` (a zero or NaN sample breaks the pair);
    * SSC: ``(x[t] - x[t-1]) * (x[t] - x[t+1]) >= ssc_threshold`` for interior t;
    * WAMP: ``|x[t+1] - x[t]| > wamp_threshold``.
    """
    n_series, n = x.shape
    out = np.zeros((3, n_series))
    buf = np.empty((n, BLOCK))
    acc = np.empty((3, BLOCK))
    for s0 in range(0, n_series, BLOCK):
        nb = min(BLOCK, n_series - s0)
        _load_block(x, s0, nb, buf, acc)
        for t in range(n - 1):
            for j in range(nb):
                a = buf[t, j]
                b = buf[t + 1, j]
                if (a > 0 and b < 0) or (a < 0 and b > 0):
                    acc[0, j] += 1.0
                if abs(b - a) > wamp_threshold:
                    acc[2, j] += 1.0
        for t in range(1, n - 1):
            for j in range(nb):
                c = buf[t, j]
                if (c - buf[t - 1, j]) * (c - buf[t + 1, j]) >= ssc_threshold:
                    acc[1, j] += 1.0
        _store_block(acc, s0, nb, out)
    return out
