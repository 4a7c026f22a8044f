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


def test_bad_inputs_are_named():
    with pytest.raises(ConfigError, match="HTX"):
        extract_features(W, "HTX")
    with pytest.raises(ValueError, match="3-D"):
        extract_features(W[0], "HTD")
    with pytest.raises(ValueError, match="SSC needs windows of at least 3"):
        extract_features(W[:, :, :2], ["SSC"])
