"""Vectorised kernels behind :mod:`myoflow.features` that are more than a line of numpy.

Each kernel reproduces one LibEMG 2.0.3 computation (and the library it calls) operation for
operation where rounding could matter, but over all windows and channels at once:

* :func:`cepstral_from_ar` -- LibEMG's CC recursion (AR itself is compiled: :mod:`._features_jit`),
* :func:`lmoment_l2` -- LibEMG's ``__lmom(signal, 2)`` (LS),
* :func:`wavelet_energy_stats` -- per-level energy statistics of ``pywt.wavedec(x, 'sym8', level,
  mode='symmetric')``, whose coefficients (:func:`wavedec_sym8`) are pywt's bit for bit (WENG/WV/WWL/WENT),
* :func:`sample_entropy`, :func:`fuzzy_entropy` -- LibEMG's SAMPEN / FUZZYEN.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# ---------------------------------------------------------------------------------------------
# CC: cepstral coefficients from the AR coefficients (myoflow._features_jit.burg_lpc)
# ---------------------------------------------------------------------------------------------


def cepstral_from_ar(ar: np.ndarray, order: int) -> np.ndarray:
    """LibEMG's getCCfeat recursion on its (windows, channels*order) AR layout, verbatim.

    (It multiplies by a_p, not a_l, inside the sum, and leaves coefficients 1.. at 0 for
    order <= 2 -- both kept, for exactness.)
    """
    cc = np.zeros_like(ar)
    cc[:, ::order] = -1 * ar[:, ::order]
    if order > 2:
        for p in range(1, order):
            for l in range(1, p):
                cc[:, p::order] = cc[:, p::order] + (ar[:, p::order] * cc[:, p - l :: order] * (1 - (l / p)))
            cc[:, p::order] = -1 * ar[:, p::order] - cc[:, p::order]
    return cc


# ---------------------------------------------------------------------------------------------
# LS: second L-moment via sorting
# ---------------------------------------------------------------------------------------------


def lmoment_l2(w: np.ndarray) -> np.ndarray:
    """Second sample L-moment l2 = 2 b1 - b0 along the last axis (LibEMG's LS), n >= 2.

    b0 is the mean, b1 = 1/n * sum_k k/(n-1) x_(k) over the sorted sample (0-based k).
    """
    n = w.shape[-1]
    b0 = np.mean(w, axis=-1)
    xs = np.sort(w, axis=-1)[..., 1:]
    weights = np.arange(1, n) / (n - 1)
    b1 = 1 / n * np.sum(weights * xs, axis=-1)
    return 2 * b1 + (-1 * b0)


# ---------------------------------------------------------------------------------------------
# Wavelets: sym8 DWT, pywt's 'symmetric' mode, with pywt's order of operations
# ---------------------------------------------------------------------------------------------

#: sym8 decomposition low-pass filter (Daubechies' least-asymmetric, 8 vanishing moments), the
#: published coefficients as PyWavelets 1.x tabulates them (``pywt.Wavelet('sym8').dec_lo``).
SYM8_DEC_LO = np.array([
    -0.0033824159510061256, -0.0005421323317911481, 0.03169508781149298, 0.007607487324917605,
    -0.1432942383508097, -0.061273359067658524, 0.4813596512583722, 0.7771857517005235,
    0.3644418948353314, -0.05194583810770904, -0.027219029917056003, 0.049137179673607506,
    0.003808752013890615, -0.01495225833704823, -0.0003029205147213668, 0.0018899503327594609,
])
#: high-pass decomposition filter: quadrature mirror of the low-pass, hi[k] = (-1)^(k+1) lo[L-1-k]
SYM8_DEC_HI = np.array([(-1) ** (k + 1) * SYM8_DEC_LO[len(SYM8_DEC_LO) - 1 - k] for k in range(16)])


@lru_cache(maxsize=64)
def pywt_taps(n_in: int, flen: int = len(SYM8_DEC_LO)) -> tuple[np.ndarray, np.ndarray]:
    """The taps of every output of one pywt DWT level ('symmetric' mode, step 2), in the order
    pywt's C ``downsampling_convolution`` adds them: (n_out, flen) filter indices and the input
    positions they multiply.

    Output o is pywt's position i = 2o + 1; tap f multiplies the symmetric extension at i - f.
    pywt adds first the taps reaching past the right end (f = i - n .. 0, descending), then the
    taps inside the signal and past the left end (f ascending). Rounding depends on that order,
    which matters where exact arithmetic cancels (a constant window's detail coefficients).
    """
    n_out = (n_in + flen - 1) // 2
    filters = np.empty((n_out, flen), dtype=np.int64)
    for o in range(n_out):
        i = 2 * o + 1
        right = list(range(min(i - n_in, flen - 1), -1, -1)) if i >= n_in else []
        rest = list(range(max(0, i - n_in + 1), flen))
        filters[o] = right + rest
    pos = np.mod(2 * np.arange(n_out)[:, None] + 1 - filters, 2 * n_in)
    pos = np.where(pos >= n_in, 2 * n_in - 1 - pos, pos)
    filters.setflags(write=False)
    pos.setflags(write=False)
    return filters, pos


@lru_cache(maxsize=32)
def _cascade_tables(n: int, level: int):
    """Tap tables of a whole wavedec, stacked over its levels -- per output row the 16 filter
    values (low- and high-pass) and input positions, in pywt's order -- the input length of
    every level, and the bounds of [cA_level, cD_level, ..., cD_1] in the packed coefficients."""
    lengths = [n]
    filters, positions = [], []
    for _ in range(level):
        f, p = pywt_taps(lengths[-1])
        filters.append(f)
        positions.append(p)
        lengths.append(f.shape[0])
    sizes = [lengths[-1]] + lengths[:0:-1]
    bounds = tuple(int(v) for v in np.cumsum([0] + sizes))
    taps = np.vstack(filters)
    return (SYM8_DEC_LO[taps], SYM8_DEC_HI[taps], np.vstack(positions),
            np.array(lengths, dtype=np.int64), bounds)


#: the per-level statistics :func:`wavelet_energy_stats` returns, by row
WAVELET_STATS = ("sum", "sum_sq_dev", "sum_abs_diff", "entropy")


def wavelet_energy_stats(x: np.ndarray, level: int, want=WAVELET_STATS[1:]) -> np.ndarray:
    """Per-level statistics of the energies e = c**2 of ``pywt.wavedec(x, 'sym8', level)`` of
    the series x (S, n), without storing the coefficients (compiled:
    :func:`myoflow._features_jit.wavelet_energy_stats`; the transform is pywt's, bit for bit).

    Returns (4, level + 1, S), levels in pywt's list order [cA_level, cD_level, ..., cD_1],
    rows as named in :data:`WAVELET_STATS`: sum e, sum (e - mean e)**2, sum |diff e|, and
    the entropy -sum p log p with p = e / sum e. The first is always computed, the others only
    if named in ``want`` (else their rows are undefined).
    """
    return _sym8_cascade(x, level, want, store_coefficients=False)[0]


def wavedec_sym8(x: np.ndarray, level: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """``pywt.wavedec(x, 'sym8', level=level, mode='symmetric', axis=-1)`` of the series x
    (S, n), bit for bit, by the cascade of :func:`wavelet_energy_stats`.

    Returns the coefficients packed (total, S) -- [cA_level, cD_level, ..., cD_1] along the
    first axis -- and the bounds of those arrays along it. Like pywt (which only warns), any
    level is allowed, however short the series.
    """
    _, coeffs, bounds = _sym8_cascade(x, level, (), store_coefficients=True)
    return coeffs, bounds


def _sym8_cascade(x: np.ndarray, level: int, want, store_coefficients: bool):
    """Run the compiled cascade: (statistics, coefficients or None, level bounds). Outputs are
    allocated here, by numpy, whose large arrays come from reused or huge pages."""
    from ._features_jit import wavelet_energy_stats as kernel

    tap_lo, tap_hi, positions, lengths, bounds = _cascade_tables(x.shape[-1], level)
    flags = np.array([name in want for name in WAVELET_STATS[1:]], dtype=np.int64)
    stats = np.empty((len(WAVELET_STATS), level + 1, x.shape[0]))
    coeffs = np.empty((bounds[-1], x.shape[0])) if store_coefficients else None
    kernel(np.ascontiguousarray(x, dtype=np.float64), tap_lo, tap_hi, positions, lengths, flags, stats, coeffs)
    return stats, coeffs, bounds


# ---------------------------------------------------------------------------------------------
# Entropies: O(n^2) pattern comparisons, by lag, vectorised over series in chunks
# ---------------------------------------------------------------------------------------------

_CHUNK = 8192  # series per chunk: keeps the (samples, chunk) working arrays in cache


def _series_chunks(x: np.ndarray):
    """Yield (slice, x[slice].T) over chunks of the series of x (S, n); the transpose (n, s)
    makes every lag slice a contiguous block."""
    for start in range(0, x.shape[0], _CHUNK):
        sl = slice(start, start + _CHUNK)
        yield sl, np.ascontiguousarray(x[sl].T)


def sample_entropy(w: np.ndarray, dim: int = 2, tolerance: float = 0.3) -> np.ndarray:
    """LibEMG's getSAMPENfeat over all windows (windows, channels, n), n >= dim + 2.

    The series is standardised per window; a pair of patterns matches when their Chebyshev
    distance is <= tolerance. Pattern k (k < n - m, i.e. all but the last) is compared with all
    n - m + 1 patterns of length m, itself excluded; count / (n - dim - 1) is averaged over k;
    the feature is log((A + eps) / (B + eps)) for m = dim and m = dim + 1.

    Matches are symmetric, so each lag L = j - k >= 1 is visited once: the pair (k, k+L) adds
    to rows k and k+L, except when k+L is the last pattern (not a row).
    """
    n = w.shape[-1]
    mean = np.mean(w, axis=2)
    std = np.std(w, axis=2)
    series = (w - np.repeat(mean[:, :, None], n, axis=2)) / np.repeat(std[:, :, None], n, axis=2)
    flat = series.reshape(-1, n)
    out = np.empty(flat.shape[0])
    m_a, m_b = dim, dim + 1
    p_a, p_b = n - m_a + 1, n - m_b + 1  # number of patterns
    for sl, s in _series_chunks(flat):
        tot_a = np.zeros(s.shape[1], dtype=np.int64)
        tot_b = np.zeros(s.shape[1], dtype=np.int64)
        for lag in range(p_a):
            close = np.abs(s[lag:] - s[: n - lag]) <= tolerance  # close[i] <=> |s_i - s_{i+lag}| <= r
            match = close[: p_a - lag]
            for t in range(1, m_a):
                match = match & close[t : t + p_a - lag]
            tot_a += _pair_total(match, lag)
            if lag < p_b:
                match_b = match[: p_b - lag] & close[m_b - 1 : m_b - 1 + p_b - lag]
                tot_b += _pair_total(match_b, lag)
        # LibEMG: count[k] = matches incl. itself - 1 ; mean_k(count / (n - dim - 1))
        res_a = (tot_a - (p_a - 1)) / (n - dim - 1) / (n - m_a)
        res_b = (tot_b - (p_b - 1)) / (n - dim - 1) / (n - m_b)
        out[sl] = np.log((res_a + np.spacing(1)) / (res_b + np.spacing(1)))
    return out.reshape(w.shape[:2])


def _pair_total(values: np.ndarray, lag: int) -> np.ndarray:
    """Contribution of the pairs (k, k+lag) to the sum over rows k < P-1 of a symmetric matrix.

    values[k] is entry (k, k+lag) for k = 0 .. P-1-lag (axis 0). The diagonal (lag 0) counts
    once and without its last row; off-diagonal entries count twice, except the entry whose
    column is the last pattern (its mirror lies in the excluded last row).
    """
    if lag == 0:
        return values[:-1].sum(axis=0)
    return 2 * values.sum(axis=0) - values[-1]


_FUZZY_CHUNK = 256  # series per chunk: (chunk, patterns, patterns) float64 arrays of ~3 MB


def fuzzy_entropy(w: np.ndarray, dim: int = 2, tolerance: float = 0.3, win: int = 2) -> np.ndarray:
    """LibEMG's getFUZZYENfeat over all windows (windows, channels, n), n >= dim + 3.

    r = tolerance * std(window); patterns of length m are made zero-mean; the similarity of
    two patterns is exp(-d**win / r), d their Chebyshev distance; phi_k = (sum_j sim - 1) /
    (n - m - 1) over the n - m first patterns k, summed and divided by n - m; the feature is
    log((phi_dim + eps) / (phi_dim+1 + eps)).

    Unlike SAMPEN this keeps LibEMG's full (pattern x pattern) similarity matrix and its row
    sums (numpy's pairwise summation, self-similarity 1 included, then - 1): when all
    similarities underflow next to that 1, the result is set by rounding at the 1e-16 level
    and the log ratio amplifies it -- the same summation order reproduces LibEMG's value.
    """
    n = w.shape[-1]
    r = (tolerance * np.std(w, axis=2)).reshape(-1)
    flat = w.reshape(-1, n)
    results = []
    for m in (dim, dim + 1):
        p = n - m + 1
        res = np.empty(flat.shape[0])
        for start in range(0, flat.shape[0], _FUZZY_CHUNK):
            x = flat[start : start + _FUZZY_CHUNK]
            rows = [x[:, t : t + p] for t in range(m)]  # pattern k's t-th sample: rows[t][:, k]
            acc = rows[0] + rows[1]
            for t in range(2, m):
                acc = acc + rows[t]
            mu = acc / m
            y = [row - mu for row in rows]
            d = np.abs(y[0][:, None, :] - y[0][:, :, None])  # d[s, k, j] = |y[j] - y[k]|
            for t in range(1, m):
                np.maximum(d, np.abs(y[t][:, None, :] - y[t][:, :, None]), out=d)
            if win == 2:
                np.multiply(d, d, out=d)
            else:
                np.power(d, win, out=d)
            np.negative(d, out=d)
            np.divide(d, r[start : start + _FUZZY_CHUNK, None, None], out=d)
            np.exp(d, out=d)
            phi = np.zeros(x.shape[:1] + (p,))
            phi[:, : p - 1] = (np.sum(d[:, : p - 1, :], axis=2) - 1) / (n - m - 1)
            res[start : start + _FUZZY_CHUNK] = np.sum(phi, axis=1) / (n - m)
        results.append(res)
    out = np.log((results[0] + np.spacing(1)) / (results[1] + np.spacing(1)))
    return out.reshape(w.shape[:2])
