"""Features pinned against hand-computed values (LibEMG 2.0.3 definitions)."""
import numpy as np
import pytest

from myoflow.errors import ConfigError
from myoflow.features import extract_features, extract_subwindow_features

W = np.array([[[1.0, -2.0, 3.0, 0.0, -1.0]]])  # one window, one channel


def test_hand_checked_values():
    values, names = extract_features(W, "HTD")
    assert names == ["MAV_ch0", "ZC_ch0", "SSC_ch0", "WL_ch0"]
    mav = (1 + 2 + 3 + 0 + 1) / 5
    zc = 2  # 1->-2 and -2->3; 3->0->-1 passes through an exact zero: sign diff is 1, not 2
    ssc = 2  # (x_i-x_{i-1})(x_i-x_{i+1}) at -2: 15, at 3: 15, at 0: -3 -> two changes
    wl = 3 + 5 + 3 + 1
    np.testing.assert_allclose(values[0], [mav, zc, ssc, wl])


def test_ssc_counts_ties_like_libemg():
    # a flat stretch gives a product of 0, which LibEMG's ">= threshold" (0.0) counts
    values, _ = extract_features(np.array([[[0.0, 1.0, 1.0, 1.0]]]), ["SSC"])
    assert values[0, 0] == 2


def test_rms_and_column_order_is_feature_major():
    w = np.stack([np.ones((2, 4)), 2 * np.ones((2, 4))])  # 2 windows x 2 channels
    values, names = extract_features(w, ["RMS", "MAV"])
    assert names == ["RMS_ch0", "RMS_ch1", "MAV_ch0", "MAV_ch1"]
    np.testing.assert_allclose(values, [[1, 1, 1, 1], [2, 2, 2, 2]])


def test_subwindow_features_split_time_only():
    w = np.zeros((1, 2, 8))
    w[0, 0, 4:] = 1.0  # channel 0 active only in the second half
    values, names = extract_subwindow_features(w, ["MAV"], pieces=2)
    assert values.shape == (1, 2, 2)
    np.testing.assert_allclose(values[0], [[0, 0], [1, 0]])


def test_subwindow_features_take_the_sampling_rate():
    w = np.random.default_rng(13).standard_normal((3, 2, 40))
    values, names = extract_subwindow_features(w, ["MNF", "WENG"], pieces=2, fs=200)
    assert len(names) == 2 + 2 * 6  # WENG: level 5 at 200 Hz
    for i in range(2):
        np.testing.assert_array_equal(values[:, i], extract_features(w[:, :, 20 * i : 20 * (i + 1)], ["MNF", "WENG"], fs=200)[0])


def test_bad_inputs_are_named():
    with pytest.raises(ConfigError, match="HTX"):
        extract_features(W, "HTX")
    with pytest.raises(ValueError, match="3-D"):
        extract_features(W[0], "HTD")
    with pytest.raises(ValueError, match="SSC needs windows of at least 3"):
        extract_features(W[:, :, :2], ["SSC"])


# ---------------------------------------------------------------------------------------------
# All 50 LibEMG 2.0.3 features: registry, hand-checked values, independent re-implementations,
# the LibEMG reference fixture, bad inputs.
# ---------------------------------------------------------------------------------------------
import cmath
import math
from pathlib import Path

from myoflow import features as F
from myoflow.features import FEATURES, GROUPS, LIBEMG_FEATURES, resolve_features

LIBEMG_203_FEATURES = [
    "MAV", "ZC", "SSC", "WL", "LS", "MFL", "MSR", "WAMP", "RMS", "IAV", "DASDV", "VAR", "M0", "M2",
    "M4", "SPARSI", "IRF", "WLF", "AR", "CC", "LD", "MAVFD", "MAVSLP", "MDF", "MNF", "MNP", "MPK",
    "SKEW", "KURT", "RMSPHASOR", "PAP", "WLPHASOR", "MZP", "TM", "SM", "SAMPEN", "FUZZYEN", "DFTR",
    "ISD", "COR", "MDIFF", "MLK", "ACT", "MOB", "COMP", "WENG", "WV", "WWL", "WENT", "MEAN",
]
EPS = np.spacing(1)
REFERENCE = Path(__file__).parent / "data" / "libemg_reference.npz"


def one(feature, x):
    """Feature values of a single-channel window given as a 1-D sequence."""
    values, _ = extract_features(np.asarray(x, dtype=float)[None, None, :], [feature])
    return values[0]


def test_registry_and_groups():
    assert LIBEMG_FEATURES == LIBEMG_203_FEATURES
    assert list(FEATURES) == LIBEMG_203_FEATURES + ["AR9"]
    assert GROUPS["TSTD"] == ["MAVFD", "DASDV", "WAMP", "ZC", "MFL", "SAMPEN", "M0", "M2", "M4", "SPARSI", "IRF", "WLF"]
    assert GROUPS["COMB"] == ["WL", "SSC", "LD", "AR9"]
    assert GROUPS["MSWT"] == ["WENG", "WV", "WWL", "WENT"]
    for group in ["HTD", "TSTD", "DFTR", "ITD", "HJORTH", "LS4", "LS9", "TDPSD", "TDAR", "COMB", "MSWT", "WENG", "RMS"]:
        assert resolve_features(group) == GROUPS[group]
        values, names = extract_features(np.random.default_rng(0).standard_normal((3, 2, 40)), group)
        assert values.shape == (3, len(names)) and values.dtype == np.float32


def test_column_names_follow_libemg_layouts():
    w = np.random.default_rng(1).standard_normal((2, 3, 40))
    _, names = extract_features(w, ["AR", "DFTR", "WENG", "RMSPHASOR", "MAV"])
    ar = [f"AR_{k}_ch{c}" for c in range(3) for k in range(4)]  # channel-major (LibEMG's reshape)
    dftr = [f"DFTR_{k}_ch{c}" for k in range(6) for c in range(3)]  # band-major
    weng = [f"WENG_{k}_ch{c}" for k in range(8) for c in range(3)]  # cA7, cD7 .. cD1
    phasor = [f"RMSPHASOR_{k}_ch{i}-{j}" for k in range(2) for i, j in [(0, 1), (0, 2), (1, 2)]]
    assert names == ar + dftr + weng + phasor + ["MAV_ch0", "MAV_ch1", "MAV_ch2"]
    # at the Myo's 200 Hz: one DFTR band (92 Hz < 100 Hz), wavelet level 5 (cA5, cD5 .. cD1)
    values, names = extract_features(w, ["DFTR", "WENG", "WV", "WWL", "WENT", "MAV"], fs=200)
    per_level = [f"{f}_{k}_ch{c}" for f in ("WENG", "WV", "WWL", "WENT") for k in range(6) for c in range(3)]
    assert names == [f"DFTR_0_ch{c}" for c in range(3)] + per_level + ["MAV_ch0", "MAV_ch1", "MAV_ch2"]
    assert values.shape == (2, len(names))


@pytest.mark.parametrize("fs, level, bands", [(1000, 7, 6), (1000.0, 7, 6), (200, 5, 1), (2000, 8, 6),
                                              (500, 6, 3), (184, 5, 0), (512, 7, 3), (8, 1, 0)])
def test_wavelet_level_and_dftr_bands_follow_libemg(fs, level, bands):
    # LibEMG: order = floor(log(fs/2)/log(2) - 1); a band is kept when its upper edge < fs / 2
    assert F.wavelet_level(fs) == level == math.floor(np.log(fs / 2) / np.log(2) - 1)
    assert F.dftr_bands(fs) == bands
    assert F.FEATURES["WENG"].values_per_channel(fs) == level + 1
    assert F.FEATURES["DFTR"].values_per_channel(fs) == bands
    w = np.random.default_rng(2).standard_normal((2, 2, 40))
    values, names = extract_features(w, ["DFTR", "WENT"], fs=fs)
    assert values.shape == (2, 2 * (bands + level + 1)) == (2, len(names))


def test_constant_window():
    x = [2.0] * 8
    expected = {
        "MAV": 2, "ZC": 0, "SSC": 6, "WL": 0, "LS": 0, "MFL": 0, "MSR": math.sqrt(2), "WAMP": 0,
        "RMS": 2, "IAV": 16, "DASDV": 0, "VAR": 0, "LD": 3, "MAVFD": 0, "MAVSLP": 0, "MDF": 0,
        "MNF": 0, "MNP": 1, "MPK": 2, "SKEW": 0, "KURT": 0, "PAP": 0, "MZP": 0, "TM": 8, "SM": 0,
        "ISD": 32, "COR": 0, "MDIFF": 0, "MLK": math.log(16 + EPS) / 8, "ACT": 4, "MOB": 0,
        "COMP": 0, "MEAN": 2,
    }  # MFL = log10(0), SKEW/KURT (scipy: nan), PAP, COR, COMP (0/0): non-finite -> 0
    for name, value in expected.items():
        np.testing.assert_allclose(one(name, x), [value], rtol=1e-7, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(one("DFTR", x), 0)  # no power away from DC; 20-92 Hz has no bin
    np.testing.assert_allclose(one("SAMPEN", x), [0], atol=1e-12)  # log(~eps / ~eps), as LibEMG


def test_ramp_window():
    x = np.arange(8.0)
    expected = {
        "MAV": 3.5, "ZC": 0, "SSC": 0, "WL": 7, "LS": 1.5,  # l2 of 0..n-1 is (n+1)/6
        "MFL": math.log10(7), "WAMP": 7, "RMS": math.sqrt(140 / 8), "IAV": 28, "DASDV": 1,
        "VAR": 5.25, "MAVFD": 1, "MAVSLP": 5.5 - 1.5, "MPK": 7, "MEAN": 3.5, "ISD": 140,
        "MDIFF": 7 / 8, "MZP": math.sqrt(7 / 8), "ACT": 17.5, "MOB": math.sqrt(0.875 / 17.5),
        "TM": 784 / 8, "SKEW": 0, "KURT": (63 * 185 / 240) / 5.25**2, "LD": math.factorial(8) ** (1 / 8),
        "MLK": math.log(28 + EPS) / 8, "COR": 0,  # no curvature: normRSd2 = 0 -> inf -> 0
    }
    for name, value in expected.items():
        np.testing.assert_allclose(one(name, x), [value], rtol=1e-7, atol=1e-12, err_msg=name)


def test_small_window_by_hand():
    x = [1.0, -2.0, 3.0, 0.0, -1.0]
    d1 = [-3.0, 5.0, -3.0, -1.0]
    d2 = [8.0, -8.0, 2.0]
    expected = {
        "IAV": 7, "MEAN": 0.2, "MPK": 3, "WAMP": 4, "ISD": 15, "ACT": 3, "TM": (1 + 8 + 27 + 0 + 1) / 5,
        "MSR": math.hypot((1 + math.sqrt(3)) / 5, (math.sqrt(2) + 1) / 5),  # |mean(sqrt(x + 0j))|
        "DASDV": math.sqrt(44 / 4), "MDIFF": 44 / 5, "MZP": math.sqrt(44 / 5), "MAVFD": 12 / 4,
        "VAR": 15 / 5 - 0.2**2, "MOB": math.sqrt((44 / 5) / 3), "COR": (44 / 5) / ((132 / 5) * 15),
        "PAP": math.sqrt(15) / (math.sqrt(132) / math.sqrt(44)),
        "LD": math.exp((math.log(2) + math.log(3) + math.log(4) + 0 + math.log(2)) / 5),
        "MAVSLP": (3 + 0) / 2 - (1 + 2) / 2,  # segment length round(5 / 2) = 2: [1, -2], [3, 0]
        # sorted -2 -1 0 1 3: b1 = 1/5 * (1*-1 + 2*0 + 3*1 + 4*3) / 4 = 0.7, l2 = 2 b1 - b0
        "LS": 2 * 0.7 - 0.2,
    }
    assert sum(v * v for v in d2) == 132 and sum(v * v for v in d1) == 44
    for name, value in expected.items():
        np.testing.assert_allclose(one(name, x), [value], rtol=1e-7, err_msg=name)
    # WAMP counts |x_i - x_{i-1}| > 2e-3 strictly
    assert one("WAMP", [0.0, 0.001, 0.004, 0.006])[0] == 1


def test_skew_kurt_match_their_definitions():
    x = np.array([0.0, 0.0, 1.0, 5.0, -1.0, 2.0])
    d = x - x.mean()
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    np.testing.assert_allclose(one("SKEW", x), [m3 / m2**1.5], rtol=1e-7)
    np.testing.assert_allclose(one("KURT", x), [m4 / m2**2], rtol=1e-7)  # Pearson, not excess


def test_alternating_window():
    x = [1.0, -1.0] * 4
    assert one("ZC", x)[0] == 7 and one("SSC", x)[0] == 6 and one("WL", x)[0] == 14
    np.testing.assert_allclose(one("MAVFD", x), [2.0])


def test_sine_spectral_features():
    n = 64  # nfft = 64, bins every 1000/64 = 15.625 Hz; bin 8 = 125 Hz
    x = np.sin(2 * np.pi * 8 * np.arange(n) / n)
    np.testing.assert_allclose(one("MNF", x), [125.0], rtol=1e-7)
    np.testing.assert_allclose(one("MDF", x), [125.0], rtol=1e-7)
    np.testing.assert_allclose(one("SM", x), [0.25 * 125.0**2], rtol=1e-6)  # |X_8 / n|^2 = 1/4
    np.testing.assert_allclose(one("MNP", x), [0.25 / 32], rtol=1e-6)
    # DFTR: band 92-163 Hz holds bins 6..10; mean amplitude 0.5 / 5, to the power 2/3
    np.testing.assert_allclose(one("DFTR", x), [0, 0.1 ** (2 / 3), 0, 0, 0, 0], atol=1e-6)


def test_sine_spectral_features_at_200_hz():
    n = 64  # at 200 Hz bins are 200/64 = 3.125 Hz apart: bin 8 = 25 Hz
    x = np.sin(2 * np.pi * 8 * np.arange(n) / n)[None, None, :]

    def at(name, fs):
        return extract_features(x, [name], fs=fs)[0][0]

    np.testing.assert_allclose(at("MNF", 200), [25.0], rtol=1e-7)
    np.testing.assert_allclose(at("MDF", 200), [25.0], rtol=1e-7)
    np.testing.assert_allclose(at("SM", 200), [0.25 * 25.0**2], rtol=1e-6)
    # one band, 20-92 Hz: bins 7..29 (23 of them), only bin 8 has amplitude (0.5)
    np.testing.assert_allclose(at("DFTR", 200), [(0.5 / 23) ** (2 / 3)], rtol=1e-6)
    # the frequency axis scales with fs; features of the samples alone do not change
    np.testing.assert_allclose(at("MNF", 200) * 5, at("MNF", 1000), rtol=1e-7)
    np.testing.assert_allclose(at("SM", 200) * 25, at("SM", 1000), rtol=1e-6)
    for name in ("MNP", "RMS", "SAMPEN", "AR"):
        np.testing.assert_array_equal(at(name, 200), at(name, 1000), err_msg=name)


def test_every_feature_not_in_fs_features_ignores_fs():
    w = np.random.default_rng(12).standard_normal((5, 3, 40))
    for name in FEATURES:
        a, names_a = extract_features(w, [name])
        b, names_b = extract_features(w, [name], fs=200)
        if name in F.FS_FEATURES:
            assert a.shape != b.shape or not np.array_equal(a, b), name
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
            assert names_a == names_b


def test_bad_sampling_rates_are_refused():
    for bad in (0, -200, float("nan"), float("inf"), "fast", None):
        with pytest.raises(ValueError, match="fs must be"):
            extract_features(W, ["MAV"], fs=bad)
    with pytest.raises(ValueError, match="WENG needs fs of at least 8 Hz"):
        extract_features(W, ["WENG"], fs=7.9)
    assert extract_features(W, ["MAV", "MNF"], fs=7.9)[0].shape == (1, 2)
    assert extract_features(W, ["MAV"], fs=np.float32(200))[0].shape == (1, 1)


def _tdpsd_reference(x):
    """LibEMG's TDPSD closure, written out per window with Python floats."""
    def terms(s):
        n = len(s)
        d1 = [s[i + 1] - s[i] for i in range(n - 1)]
        d2 = [d1[i + 1] - d1[i] for i in range(n - 2)]
        m0 = (math.sqrt(sum(v * v for v in s)) / (n - 1)) ** 0.1 / 0.1
        m2 = math.sqrt(sum(v * v for v in d1) / (n - 1)) ** 0.1 / 0.1
        m4 = math.sqrt(sum(v * v for v in d2) / (n - 1)) ** 0.1 / 0.1
        return {
            "M0": math.log(abs(m0)), "M2": math.log(abs(m0 - m2)), "M4": math.log(abs(m0 - m4)),
            "SPARSI": math.log(abs(math.sqrt(abs((m0 - m2) * (m0 - m4))) / m0)),
            "IRF": math.log(abs(m2 / math.sqrt(m0 * m4))),
            "WLF": math.log(abs(math.sqrt(sum(map(abs, d1)) / sum(map(abs, d2))))),
        }
    ebp = terms(list(x))
    efp = terms([math.log(v * v + EPS) for v in x])
    return {k: -2 * efp[k] * ebp[k] / (efp[k] ** 2 + ebp[k] ** 2) for k in ebp}


def test_tdpsd_features_against_written_out_formula():
    x = np.random.default_rng(3).standard_normal(12)
    ref = _tdpsd_reference(x)
    for name, value in ref.items():
        np.testing.assert_allclose(one(name, x), [value], rtol=1e-6, err_msg=name)  # float32 out


def _burg_reference(x, order):
    """Burg's method, textbook form: reflection k = -2 sum f b / sum (f^2 + b^2) at each order."""
    a = [1.0]
    f, b = list(x[1:]), list(x[:-1])
    for _ in range(order):
        k = -2 * sum(p * q for p, q in zip(f, b)) / (sum(p * p for p in f) + sum(q * q for q in b))
        a = [u + k * v for u, v in zip(a + [0.0], [0.0] + a[::-1])]
        f, b = [p + k * q for p, q in zip(f, b)], [q + k * p for p, q in zip(f, b)]
        f, b = f[1:], b[:-1]
    return a[1:]


def test_ar_cc_against_textbook_burg():
    w = np.random.default_rng(4).standard_normal((2, 3, 16))
    for name, order in [("AR", 4), ("AR9", 9)]:
        values, _ = extract_features(w, [name])
        ref = [c for win in w for ch in win for c in _burg_reference(ch, order)]  # channel-major
        np.testing.assert_allclose(values.ravel(), ref, rtol=1e-5, atol=1e-7, err_msg=name)
    # order 1 by hand on [1, 2]: f = [2], b = [1] -> k = -2 * 2 / (4 + 1)
    assert _burg_reference([1.0, 2.0], 1) == [-0.8]
    values, _ = extract_features(w, ["CC"])
    for i, win in enumerate(w):
        for c, ch in enumerate(win):
            a = _burg_reference(ch, 4)
            cc = [-a[0]]
            for p in range(1, 4):  # LibEMG's recursion (note: a_p, not a_l, in the sum)
                cc.append(-a[p] - sum(a[p] * cc[p - l] * (1 - l / p) for l in range(1, p)))
            np.testing.assert_allclose(values[i, 4 * c : 4 * c + 4], cc, rtol=1e-5, atol=1e-7)


def _entropy_reference(x, fuzzy, m=2, tol=0.3):
    """SAMPEN / FUZZYEN as LibEMG defines them, pattern pair by pattern pair."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if fuzzy:
        r = tol * x.std()
    else:
        x, r = (x - x.mean()) / x.std(), tol

    def phi(mm):
        pats = [x[i : i + mm] - (x[i : i + mm].mean() if fuzzy else 0) for i in range(n - mm + 1)]
        total = 0.0
        for i in range(n - mm):  # every pattern but the last, against all but itself
            dist = [max(abs(pats[i] - pats[j])) for j in range(len(pats)) if j != i]
            if fuzzy:
                total += sum(math.exp(-(d**2) / r) for d in dist) / (n - mm - 1)
            else:
                total += sum(d <= r for d in dist) / (n - m - 1)
        return total / (n - mm)

    return math.log((phi(m) + EPS) / (phi(m + 1) + EPS))


def test_entropies_against_pairwise_loops():
    rng = np.random.default_rng(5)
    w = np.concatenate([rng.standard_normal((3, 2, 14)), np.round(4 * rng.standard_normal((2, 2, 14)))])
    for name, fuzzy in [("SAMPEN", False), ("FUZZYEN", True)]:
        values, _ = extract_features(w, [name])
        ref = [[_entropy_reference(ch, fuzzy) for ch in win] for win in w]
        np.testing.assert_allclose(values, ref, rtol=1e-6, atol=1e-9, err_msg=name)


def test_sym8_coefficients_are_an_orthonormal_wavelet_with_8_vanishing_moments():
    from myoflow._features_kernels import SYM8_DEC_HI, SYM8_DEC_LO

    h, g = SYM8_DEC_LO, SYM8_DEC_HI
    assert math.isclose(h.sum(), math.sqrt(2), rel_tol=1e-12)
    for shift in range(0, 16, 2):
        assert math.isclose(np.dot(h[shift:], h[: 16 - shift]), float(shift == 0), abs_tol=1e-12)
    k = np.arange(16.0)
    for p in range(8):
        assert abs(np.dot(k**p, g)) < 1e-9 * 16**p


def _wavedec_reference(x, level=7):
    """pywt.wavedec(x, 'sym8', mode='symmetric') with np.pad and np.convolve."""
    from myoflow._features_kernels import SYM8_DEC_HI, SYM8_DEC_LO

    def dwt(s, filt):
        ext = np.pad(s, 15, mode="symmetric")
        return np.convolve(ext, filt)[16::2][: (len(s) + 15) // 2]

    out, a = [], np.asarray(x, dtype=float)
    for _ in range(level):
        out.append(dwt(a, SYM8_DEC_HI))
        a = dwt(a, SYM8_DEC_LO)
    return [a] + out[::-1]


WAVELET_REFERENCE = {
    "WENG": lambda c: np.log(np.sum(c**2) + 1e-10),
    "WV": lambda c: np.log(np.var(c**2) + 1e-10),
    "WWL": lambda c: np.log(np.sum(np.abs(np.diff(c**2))) + 1e-10),
    "WENT": lambda c: -np.sum((c**2 / np.sum(c**2)) * np.log(c**2 / np.sum(c**2))),
}


@pytest.mark.parametrize("fs, level, lengths", [(1000, 7, [15, 15, 15, 15, 16, 18, 21, 27]),
                                                (200, 5, [15, 15, 16, 18, 21, 27])])
def test_wavelet_features_against_convolution(fs, level, lengths):
    w = np.random.default_rng(6).standard_normal((2, 2, 40))
    coeffs = [[_wavedec_reference(ch, level) for ch in win] for win in w]
    assert [len(c) for c in coeffs[0][0]] == lengths  # cA_L, cD_L .. cD1
    for name, func in WAVELET_REFERENCE.items():
        values, _ = extract_features(w, [name], fs=fs)
        expected = [[func(coeffs[i][ch][lvl]) for lvl in range(level + 1) for ch in range(2)] for i in range(2)]
        np.testing.assert_allclose(values, expected, rtol=1e-6, err_msg=name)


def test_phasors_against_written_out_loops():
    w = np.random.default_rng(7).standard_normal((2, 3, 10))
    c_vec = [complex(np.complex64(cmath.exp(1j * ch * 2 * math.pi / 3))) for ch in range(3)]
    for name, mag in [
        ("RMSPHASOR", lambda s: (np.sqrt(np.mean(s**2)), np.sqrt(np.mean(np.diff(s) ** 2)))),
        ("WLPHASOR", lambda s: (np.sum(np.abs(np.diff(s))), np.sum(np.abs(np.diff(s, n=2))))),
    ]:
        values, _ = extract_features(w, [name])
        for i, win in enumerate(w):
            r = [mag(ch) for ch in win]
            d, dd = [], []
            for a in range(3):
                for b in range(a + 1, 3):
                    d.append(abs(r[a][0] * c_vec[a] - r[b][0] * c_vec[b]))
                    dd.append(abs(r[a][1] * c_vec[a] - r[b][1] * c_vec[b]))
            expected = [math.log(v) for v in d] + [math.log(u / v) for u, v in zip(d, dd)]
            np.testing.assert_allclose(values[i], expected, rtol=1e-6, err_msg=name)


def test_comp_uses_the_whole_batch_like_libemg():
    # LibEMG's COMP sums the 4th-moment term over every window and channel of the call
    w = np.random.default_rng(8).standard_normal((3, 2, 20))
    m4 = np.sum(np.diff(w, n=2, axis=2) ** 2) / 20
    m2 = np.sum(np.diff(w, axis=2) ** 2, axis=2) / 20
    values, _ = extract_features(w, ["COMP"])
    np.testing.assert_allclose(values, np.sqrt(m4 / m2), rtol=1e-6)


def test_chunking_does_not_change_results(monkeypatch):
    w = np.random.default_rng(9).standard_normal((7, 2, 40))
    whole, _ = extract_features(w, LIBEMG_FEATURES + ["AR9"])
    monkeypatch.setattr(F, "CHUNK_WINDOWS", 3)
    chunked, _ = extract_features(w, LIBEMG_FEATURES + ["AR9"])
    np.testing.assert_array_equal(whole, chunked)


def test_degenerate_windows_give_finite_values():
    w = np.zeros((2, 2, 40))
    w[1, 1] = 5.0
    values, _ = extract_features(w, LIBEMG_FEATURES + ["AR9"])
    assert np.isfinite(values).all()
    # int8 windows are computed in float64 (no int8 overflow in x**2)
    x = np.full((1, 1, 8), 100, dtype=np.int8)
    assert one("ISD", x[0, 0])[0] == extract_features(x, ["ISD"])[0][0, 0] == 80000


@pytest.mark.parametrize("name", list(FEATURES))
def test_too_short_windows_are_refused_and_minimum_works(name):
    need = FEATURES[name].min_length
    if need > 1:
        with pytest.raises(ValueError, match=f"feature {name} needs windows of at least {need} samples"):
            extract_features(np.ones((2, 2, need - 1)), [name])
    values, names = extract_features(np.random.default_rng(0).standard_normal((2, 2, need)), [name])
    assert values.shape == (2, len(names)) and np.isfinite(values).all()


def test_more_bad_inputs():
    with pytest.raises(ConfigError, match="FOO"):
        extract_features(np.ones((1, 1, 8)), ["MAV", "FOO"])
    with pytest.raises(ValueError, match="3-D"):
        extract_features(np.ones((1, 1, 1, 8)), ["MAV"])
    with pytest.raises(ValueError, match="3-D"):
        extract_subwindow_features(np.ones(8), ["MAV"])
    with pytest.raises(ValueError, match="does not split into 3"):
        extract_subwindow_features(np.ones((1, 1, 8)), ["MAV"], pieces=3)


@pytest.mark.skipif(not REFERENCE.exists(), reason="LibEMG reference fixture missing")
@pytest.mark.parametrize("fs", [None, 200])
@pytest.mark.parametrize("dataset", ["random", "myo", "degenerate"])
def test_agrees_with_libemg_203_reference(dataset, fs):
    """tests/data/libemg_reference.npz: LibEMG 2.0.3's own output (float64 in, stored float32)
    on seeded random float windows, int8 Myo-like windows and degenerate windows (constant,
    zero-order hold, steps: where the order of operations decides the rounding), 8 x 40, at
    LibEMG's default fs (``<set>/<FEAT>``) and with ``<FEAT>_fs = 200`` for the features that
    take it (``fs200/<set>/<FEAT>``; LibEMG's other features ignore fs, so their default values
    hold at 200 Hz too); regenerate with ``bench/bench_features.py --make-reference``."""
    kwargs = {} if fs is None else {"fs": fs}
    with np.load(REFERENCE) as ref:
        w = ref[f"windows/{dataset}"]
        for name in LIBEMG_FEATURES + ["AR9"]:
            key = f"fs{fs}/{dataset}/{name}" if fs is not None and name in F.FS_FEATURES else f"{dataset}/{name}"
            expected = np.nan_to_num(ref[key].astype(np.float64), nan=0, posinf=0, neginf=0)
            values, names = extract_features(w, [name], **kwargs)  # the whole set in one call (COMP)
            assert expected.shape == values.shape, name
            assert len(names) == values.shape[1], name
            np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-7, err_msg=f"{name} at fs {fs}")


def test_reference_holds_fs_200_for_every_fs_feature():
    with np.load(REFERENCE) as ref:
        for dataset in ("random", "myo", "degenerate"):
            n = len(ref[f"windows/{dataset}"])
            for name in F.FS_FEATURES:
                assert ref[f"fs200/{dataset}/{name}"].shape == (n, 8 * F.FEATURES[name].values_per_channel(200))


@pytest.mark.parametrize("n_samples", [2, 3, 40, 257])
def test_compiled_kernels_match_numpy_across_block_edges(n_samples):
    """The numba kernels walk series in blocks of 64: sizes around a block, NaN, zeros, ties."""
    from myoflow import _features_jit as J

    rng = np.random.default_rng(n_samples)
    for n_series in (1, 63, 64, 65, 130):
        x = rng.standard_normal((n_series, n_samples))
        x[::5] = np.round(x[::5])  # exact zeros and ties
        x[n_series // 2, n_samples // 2] = np.nan
        d1 = np.diff(x, axis=1)
        d2 = np.diff(d1, axis=1)
        with np.errstate(invalid="ignore"):
            sums = J.difference_sums(x)
            expected = [np.abs(d1).sum(1), np.abs(d2).sum(1), (d1 * d1).sum(1), (d2 * d2).sum(1)]
            np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-12)
            counts = J.difference_counts(x, 0.0, 2e-3)
            zc = np.sum(np.abs(np.diff(np.sign(x), axis=1)) == 2, axis=1)
            ssc = np.sum((x[:, 1:-1] - x[:, :-2]) * (x[:, 1:-1] - x[:, 2:]) >= 0.0, axis=1)
            wamp = np.sum(np.abs(d1) > 2e-3, axis=1)
        np.testing.assert_array_equal(counts, [zc, ssc, wamp])
        clean = np.nan_to_num(x)
        if n_samples > 4:
            a = J.burg_lpc(clean, 4)
            for s in (0, n_series - 1):
                np.testing.assert_allclose(a[s], _burg_reference(clean[s], 4), rtol=1e-9, atol=1e-12)
        spec = np.fft.rfft(clean, n=2 * n_samples, axis=1)
        power = J.scaled_power(spec, n_samples, n_samples)
        s_ref = spec[:, :n_samples] / n_samples
        np.testing.assert_array_equal(power, s_ref.real * s_ref.real + s_ref.imag * s_ref.imag)
        half = power.sum(axis=1) / 2
        bins = J.median_frequency_bins(power, power.sum(axis=1))
        np.testing.assert_array_equal(bins, np.argmax(np.cumsum(power, axis=1) > half[:, None], axis=1))


@pytest.mark.parametrize("n_samples", [16, 40, 257])
def test_wavelet_kernel_across_block_edges_and_special_values(n_samples):
    """The fused sym8 kernel walks series in blocks of 128: its coefficients against the
    np.convolve transform, its per-level statistics against numpy on those coefficients, and the
    lanes where the entropy needs numpy's log (zero, subnormal, huge energies, NaN)."""
    from myoflow._features_kernels import WAVELET_STATS, wavedec_sym8, wavelet_energy_stats

    rng = np.random.default_rng(n_samples)
    for n_series in (1, 127, 128, 129, 300):
        x = rng.standard_normal((n_series, n_samples)) * 10.0 ** rng.uniform(-3, 3, (n_series, 1))
        x[n_series // 3] = 0.0  # every energy 0: entropy nan (LibEMG's 0 * log 0)
        x[n_series // 2] = 1e-160 * rng.standard_normal(n_samples)  # subnormal energies
        x[-1] = 1e150 * rng.standard_normal(n_samples)  # energies near float64's largest
        if n_series > 2:
            x[1, 3] = np.nan
        coeffs, bounds = wavedec_sym8(x, 7)
        for s in (0, n_series - 1):
            ref = np.concatenate(_wavedec_reference(x[s]))
            np.testing.assert_allclose(coeffs[:, s], ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
        stats = wavelet_energy_stats(x, 7, WAVELET_STATS[1:])
        with np.errstate(all="ignore"):
            for lvl, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
                e = coeffs[lo:hi] ** 2
                total = e.sum(axis=0)
                p = e / total
                expected = [total, ((e - total / (hi - lo)) ** 2).sum(axis=0),
                            np.abs(np.diff(e, axis=0)).sum(axis=0), -(p * np.log(p)).sum(axis=0)]
                for row, name in enumerate(WAVELET_STATS):
                    np.testing.assert_allclose(stats[row, lvl], expected[row], rtol=1e-9, atol=0,
                                               equal_nan=True, err_msg=f"{name} level {lvl}")


def test_threads_do_not_change_results_and_bad_counts_are_named():
    w = np.random.default_rng(10).standard_normal((37, 3, 40))
    one, names = extract_features(w, LIBEMG_FEATURES + ["AR9"], threads=1)
    for threads in (2, 3):
        monkeypatched = extract_features(w, LIBEMG_FEATURES + ["AR9"], threads=threads)
        np.testing.assert_array_equal(one, monkeypatched[0])
        assert monkeypatched[1] == names
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        extract_features(w, ["MAV"], threads=0)


def test_values_beyond_float32_become_zero_like_nan():
    w = np.zeros((2, 1, 8))
    w[0, 0] = 1e30  # ISD = sum x^2 = 8e60: finite in float64, not in float32
    w[1, 0] = 2.0
    values, _ = extract_features(w, ["ISD", "MAV"])
    assert values.tolist() == [[0.0, np.float32(1e30)], [32.0, 2.0]]


def test_vectorisable_log_of_the_wavelet_entropy():
    """The entropy's log (no libm call): within 1.5e-14 of numpy's near 1, within 2 ulp far
    from it -- orders below the 1e-6 the features are held to."""
    import numba

    from myoflow._features_jit import _log_normal

    @numba.njit
    def logs(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = _log_normal(x[i])
        return out

    rng = np.random.default_rng(11)
    near_one = rng.uniform(0.5, 2.0, 100_000)
    assert np.abs(logs(near_one) - np.log(near_one)).max() < 1.5e-14
    wide = np.abs(rng.standard_normal(100_000)) * 10.0 ** rng.uniform(-307, 307, 100_000)
    wide = wide[wide >= np.finfo(float).tiny]
    ref = np.log(wide)
    assert (np.abs(logs(wide) - ref) <= 1.5e-14 + 2 * np.spacing(np.abs(ref))).all()


# ---------------------------------------------------------------------------------------------
# Real 200 Hz Myo windows (MyoArmband archive in ../shared/data; skipped where it is absent)
# ---------------------------------------------------------------------------------------------
import os
import tarfile

SHARED_DATA = Path(os.environ.get("MYOFLOW_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
MYO_ARCHIVE = SHARED_DATA / "myoarmband.tar.xz"


def _real_myo_windows(n_files: int = 4, length: int = 40) -> np.ndarray:
    """Windows (W, 8, length) of the first recordings of the MyoArmband archive: 200 Hz, int8
    levels stored as int16 (its README), read from the tar stream without extracting it; windows
    with a constant channel are left out (LibEMG's MDF fails on all-zero channels)."""
    if not MYO_ARCHIVE.is_file():
        pytest.skip(f"real Myo data not here: {MYO_ARCHIVE}")
    windows = []
    with tarfile.open(MYO_ARCHIVE, "r|xz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".dat"):
                x = np.frombuffer(tar.extractfile(member).read(), dtype=np.int16).reshape(-1, 8)
                w = np.lib.stride_tricks.sliding_window_view(x, length, axis=0)[:: length // 2]
                windows.append(w)  # (W, 8, length)
                if len(windows) == n_files:
                    break
    w = np.concatenate(windows).astype(np.float64)
    return w[~np.any(np.all(w == w[:, :, :1], axis=2), axis=1)]


def _libemg_spectral_reference(windows: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    """LibEMG 2.0.3's getMDFfeat / getMNFfeat / getSMfeat / getDFTRfeat with <FEAT>_fs = fs,
    their numpy written out (per window for MDF, as LibEMG)."""
    n = windows.shape[2]
    nfft = 1 if n == 0 else 2 ** math.ceil(math.log2(n))
    spec = np.fft.fft(windows, n=nfft, axis=2) / n
    half = spec[:, :, : int(round(nfft / 2))]
    power = np.real(half * np.conj(half))
    f = (np.fft.fftfreq(nfft) * fs)[: int(round(nfft / 2))]
    cum = np.cumsum(power, axis=2)
    total = np.sum(power, axis=2)
    mdf = np.array([[(fs / 2) * np.argwhere(cum[i, j] > total[i, j] / 2)[0][0] / (nfft / 2)
                     for j in range(windows.shape[1])] for i in range(len(windows))])
    amp = np.abs(half)
    bands, init = [], 20
    for upper in [u for u in (92, 163, 235, 305, 378, 450) if u < fs / 2]:
        inc = (f > init) & (f < upper)
        bands.append((np.sum(amp[:, :, inc], axis=2) / np.sum(inc)) ** (2 / 3))
        init = upper
    return {"MDF": mdf, "MNF": np.sum(power * f, axis=2) / np.sum(power, axis=2), "SM": np.sum(power * f**2, axis=2),
            "DFTR": np.hstack(bands) if bands else np.zeros((len(windows), 0))}


def test_real_200_hz_myo_windows_at_their_sampling_rate():
    """On real Myo windows at fs = 200: every fs-dependent feature against LibEMG's formulas
    (spectral ones written out, wavelets at level 5 by np.convolve), and the 1 DFTR band and
    6 wavelet values per channel LibEMG gives at 200 Hz. ``bench_features.py --check-only
    --check-real`` compares with LibEMG itself."""
    w = _real_myo_windows()
    assert len(w) > 100
    ref = _libemg_spectral_reference(w, 200.0)
    for name, expected in ref.items():
        values, names = extract_features(w, [name], fs=200)
        assert values.shape == expected.shape == (len(w), 8), name
        np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-7, err_msg=name)
    sample = w[:: max(1, len(w) // 40)]  # the Python-level wavelet reference is slow
    coeffs = [[_wavedec_reference(ch, 5) for ch in win] for win in sample]
    for name, func in WAVELET_REFERENCE.items():
        values, names = extract_features(sample, [name], fs=200)
        expected = [[func(c[ch][lvl]) for lvl in range(6) for ch in range(8)] for c in coeffs]
        np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-7, err_msg=name)
        assert names[:8] == [f"{name}_0_ch{c}" for c in range(8)] and len(names) == 48
    # at the default 1000 Hz the same windows give 5x the frequencies and 8 wavelet values
    np.testing.assert_allclose(extract_features(w, ["MNF"])[0], 5 * extract_features(w, ["MNF"], fs=200)[0], rtol=1e-6)
    assert extract_features(w[:2], ["WENG"])[0].shape == (2, 64)
