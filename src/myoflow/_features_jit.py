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
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

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


# ---------------------------------------------------------------------------------------------
# Wavelet features: the sym8 cascade and per-level statistics of its energies, fused
# ---------------------------------------------------------------------------------------------

#: series per block of the wavelet kernel: more lanes amortise the per-output tap set-up; the
#: level-1 buffers of 40-sample windows (cur 40 rows, next/details 27 rows) stay in L1/L2
WAVELET_BLOCK = 128

# log m for m in [sqrt(2)/2, sqrt(2)) as 2 atanh(s) = 2s + s R(s^2), s = (m - 1) / (m + 1) in
# [-0.1716, 0.1716]: R of degree 5, fitted (least squares on Chebyshev nodes) to its series
# sum_n 2 z^n / (2n + 1) on z in [0, 0.02944], |error| < 7e-14, so |log error| < 1.2e-14 + an
# ulp: far below the 1e-6 the features need, and no libm call, so the lane loop vectorises
_LN2 = 0.6931471805599453
_R1, _R2, _R3, _R4, _R5 = (0.6666666667602633, 0.3999999556292345, 0.28572114317735314,
                           0.22176003130106423, 0.19586511547860475)
_SQRT2 = 1.4142135623730951
_MANTISSA = 0x000FFFFFFFFFFFFF
_EXPONENT_ONE = 0x3FF0000000000000
_NORMAL_MIN = 2.2250738585072014e-308
_FLOAT_MAX = 1.7976931348623157e308
_INF_NAN_FIELD = 0x7FF  # the exponent field of inf and nan (0: zero and subnormals)
_TINY_TOTAL_FIELD = 63  # a level's energy below 2^(63 - 1023): its e log e may be subnormal
_TINY_TOTAL = 2.0 ** (_TINY_TOTAL_FIELD - 1023)


@intrinsic
def _float_bits(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64 (a register bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _exponent_field(x):  # pragma: no cover - compiled
    """The 11-bit biased exponent of a float64 (its sign dropped)."""
    return (_float_bits(x) >> 52) & 0x7FF


@intrinsic
def _bits_float(typingctx, b):
    """The float64 whose IEEE-754 bits are the int64 b."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


# FMA contraction is allowed in the log only (its accuracy is the same either way): the energies,
# their differences and deviations are rounded as LibEMG's numpy rounds them, which decides
# WWL and WV where they cancel (constant windows); LLVM inlines this into the lane loop
@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _log_normal(e):  # pragma: no cover - compiled; tested through features.WENT
    """log(e) for a positive normal float64 e: e = m 2^k, log e = k log 2 + log m."""
    bits = _float_bits(e)
    k = float(((bits >> 52) & 0x7FF) - 1023)
    m = _bits_float((bits & _MANTISSA) | _EXPONENT_ONE)
    if m > _SQRT2:
        m = m * 0.5
        k = k + 1.0
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    r = z * (_R1 + z * (_R2 + z * (_R3 + z * (_R4 + z * _R5))))
    return k * _LN2 + (s * r + (s + s))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _energy_stats(c, n_rows, want, lvl, s0, nb, stats, acc, log_e):  # pragma: no cover - compiled
    """Statistics of the energies e = c**2 of one level, rows [0, n_rows) of c (rows, block),
    into stats[:, lvl, s0:s0+nb]: sum e; if want[0], sum (e - mean e)**2; if want[1],
    sum |e[o] - e[o-1]|; if want[2], the entropy -sum p log p of p = e / sum e (a zero energy
    gives nan, like LibEMG's 0 * log 0)."""
    block = c.shape[1]
    if want[2]:  # sum e and sum e log e together: one pass less over the level
        for j in range(block):
            acc[0, j] = 0.0
            acc[3, j] = 0.0
        for o in range(n_rows):
            special = 0
            for j in range(block):
                e = c[o, j] * c[o, j]
                # 0, subnormal, inf, nan: numpy's log below, outside the vectorised loop
                field = _exponent_field(e)
                special += (field == 0) | (field == _INF_NAN_FIELD)
                log_e[j] = _log_normal(e)
            if special:
                for j in range(block):
                    e = c[o, j] * c[o, j]
                    if not (_NORMAL_MIN <= e <= _FLOAT_MAX):
                        log_e[j] = np.log(e)
            for j in range(block):
                e = c[o, j] * c[o, j]
                acc[0, j] += e
                acc[3, j] += e * log_e[j]
        # the entropy -sum p log p, p = e / E, as log E - (sum e log e) / E; where E is tiny
        # (e log e would be subnormal, with few significant bits), zero or not finite, by
        # LibEMG's own formula instead
        special = 0
        for j in range(block):
            field = _exponent_field(acc[0, j])
            special += (field < _TINY_TOTAL_FIELD) | (field == _INF_NAN_FIELD)
            log_e[j] = _log_normal(acc[0, j])
        for j in range(block):
            acc[3, j] = log_e[j] - acc[3, j] / acc[0, j]
        if special:
            for j in range(block):
                total = acc[0, j]
                if not (_TINY_TOTAL <= total <= _FLOAT_MAX):
                    entropy = 0.0
                    for o in range(n_rows):
                        p = c[o, j] * c[o, j] / total
                        entropy -= p * np.log(p)
                    acc[3, j] = entropy
    else:
        for j in range(block):
            acc[0, j] = 0.0
        for o in range(n_rows):
            for j in range(block):
                acc[0, j] += c[o, j] * c[o, j]
    if want[0]:
        for j in range(block):
            acc[1, j] = 0.0
            log_e[j] = acc[0, j] / n_rows  # the level's mean energy
        for o in range(n_rows):
            for j in range(block):
                dev = c[o, j] * c[o, j] - log_e[j]
                acc[1, j] += dev * dev
    if want[1]:
        for j in range(block):
            acc[2, j] = 0.0
        for o in range(1, n_rows):
            for j in range(block):
                acc[2, j] += abs(c[o, j] * c[o, j] - c[o - 1, j] * c[o - 1, j])
    for q in range(4):
        if q == 0 or want[q - 1]:
            for j in range(nb):
                stats[q, lvl, s0 + j] = acc[q, j]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def wavelet_energy_stats(x, tap_lo, tap_hi, tap_pos, level_lengths, want, stats, coeffs):  # pragma: no cover
    """The sym8 ``pywt.wavedec`` of every row of x (S, n) and, per level, statistics of its
    energies e = c**2 (:func:`_energy_stats`), into stats (4, levels + 1, S) in pywt's list
    order [cA_L, cD_L, ..., cD_1]; rows of statistics not in ``want`` are left as they are.
    If coeffs is an array (n_total, S), the coefficients themselves go there, packed in the
    same order (for tests); with None they are never stored.

    The transform is bit for bit pywt's: each output is pywt's sequential sum of
    ``filter[f] * input[p]`` over its taps in pywt's order (tap_lo/tap_hi/tap_pos per output
    row, from :func:`myoflow._features_kernels.pywt_taps`), each level reading the rounded
    approximation of the level before. level_lengths[l] is the input length of level l (the
    last entry the length of cA_L); the taps of level l sit at rows [sum of earlier n_out,
    + n_out). Filters of 16 taps (sym8): the taps are written out one by one below.
    """
    n_series, n = x.shape
    n_levels = level_lengths.shape[0] - 1
    block = WAVELET_BLOCK
    rows = level_lengths.max()  # a level's output outgrows its input when it is short
    cur = np.empty((rows, block))
    nxt = np.empty((rows, block))
    det = np.empty((rows, block))
    acc = np.empty((4, block))
    log_e = np.empty(block)
    for s0 in range(0, n_series, block):
        nb = min(block, n_series - s0)
        for j in range(nb):
            for t in range(n):
                cur[t, j] = x[s0 + j, t]
        for j in range(nb, block):  # a last, partial block: idle lanes compute on ones
            for t in range(n):
                cur[t, j] = 1.0
        row = 0
        col_d = 0 if coeffs is None else coeffs.shape[0]  # details fill coeffs from the end
        for lev in range(n_levels):
            n_out = level_lengths[lev + 1]
            for o in range(n_out):
                r = row + o
                l0, h0, p0 = tap_lo[r, 0], tap_hi[r, 0], tap_pos[r, 0]
                l1, h1, p1 = tap_lo[r, 1], tap_hi[r, 1], tap_pos[r, 1]
                l2, h2, p2 = tap_lo[r, 2], tap_hi[r, 2], tap_pos[r, 2]
                l3, h3, p3 = tap_lo[r, 3], tap_hi[r, 3], tap_pos[r, 3]
                l4, h4, p4 = tap_lo[r, 4], tap_hi[r, 4], tap_pos[r, 4]
                l5, h5, p5 = tap_lo[r, 5], tap_hi[r, 5], tap_pos[r, 5]
                l6, h6, p6 = tap_lo[r, 6], tap_hi[r, 6], tap_pos[r, 6]
                l7, h7, p7 = tap_lo[r, 7], tap_hi[r, 7], tap_pos[r, 7]
                l8, h8, p8 = tap_lo[r, 8], tap_hi[r, 8], tap_pos[r, 8]
                l9, h9, p9 = tap_lo[r, 9], tap_hi[r, 9], tap_pos[r, 9]
                l10, h10, p10 = tap_lo[r, 10], tap_hi[r, 10], tap_pos[r, 10]
                l11, h11, p11 = tap_lo[r, 11], tap_hi[r, 11], tap_pos[r, 11]
                l12, h12, p12 = tap_lo[r, 12], tap_hi[r, 12], tap_pos[r, 12]
                l13, h13, p13 = tap_lo[r, 13], tap_hi[r, 13], tap_pos[r, 13]
                l14, h14, p14 = tap_lo[r, 14], tap_hi[r, 14], tap_pos[r, 14]
                l15, h15, p15 = tap_lo[r, 15], tap_hi[r, 15], tap_pos[r, 15]
                # written out tap by tap, in pywt's order: the lane loop vectorises
                for j in range(block):
                    v = cur[p0, j]
                    a = 0.0 + l0 * v
                    d = 0.0 + h0 * v
                    v = cur[p1, j]
                    a += l1 * v
                    d += h1 * v
                    v = cur[p2, j]
                    a += l2 * v
                    d += h2 * v
                    v = cur[p3, j]
                    a += l3 * v
                    d += h3 * v
                    v = cur[p4, j]
                    a += l4 * v
                    d += h4 * v
                    v = cur[p5, j]
                    a += l5 * v
                    d += h5 * v
                    v = cur[p6, j]
                    a += l6 * v
                    d += h6 * v
                    v = cur[p7, j]
                    a += l7 * v
                    d += h7 * v
                    v = cur[p8, j]
                    a += l8 * v
                    d += h8 * v
                    v = cur[p9, j]
                    a += l9 * v
                    d += h9 * v
                    v = cur[p10, j]
                    a += l10 * v
                    d += h10 * v
                    v = cur[p11, j]
                    a += l11 * v
                    d += h11 * v
                    v = cur[p12, j]
                    a += l12 * v
                    d += h12 * v
                    v = cur[p13, j]
                    a += l13 * v
                    d += h13 * v
                    v = cur[p14, j]
                    a += l14 * v
                    d += h14 * v
                    v = cur[p15, j]
                    a += l15 * v
                    d += h15 * v
                    nxt[o, j] = a
                    det[o, j] = d
            row += n_out
            _energy_stats(det, n_out, want, n_levels - lev, s0, nb, stats, acc, log_e)
            if coeffs is not None:
                col_d -= n_out
                for o in range(n_out):
                    for j in range(nb):
                        coeffs[col_d + o, s0 + j] = det[o, j]
            cur, nxt = nxt, cur
        n_last = level_lengths[n_levels]
        _energy_stats(cur, n_last, want, 0, s0, nb, stats, acc, log_e)
        if coeffs is not None:
            for o in range(n_last):
                for j in range(nb):
                    coeffs[o, s0 + j] = cur[o, j]
