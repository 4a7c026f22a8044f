"""Preprocessing steps on hand-built signals."""
import numpy as np
import pandas as pd
import pytest

from myoflow.errors import ConfigError
from myoflow.layouts import ElectrodeLayout, myo_ring8
from myoflow.preprocess import (
    check_steps, detect_bad_channels, drop_channels, interpolate_channels, preprocess_recording,
)
from myoflow.store import Recording


def _rec(emg, fs=1000.0, layout=None):
    n = len(emg)
    trials = pd.DataFrame({"trial": [0, 1], "label": [0, 1], "repetition": [0, 0], "start": [0, n // 2],
                           "stop": [n // 2, n], "active_start": [-1, n // 2 + 100], "active_stop": [-1, n - 100]})
    return Recording("x", 1, 1, emg.astype(np.float32), fs, "mV", "d", layout or myo_ring8(), ["r", "g"], trials)


def _power_at(x, fs, f):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    return spec[int(round(f / fs * len(x)))]


def test_notch_removes_mains_and_harmonics_but_keeps_emg_band():
    fs = 1000.0
    t = np.arange(4000) / fs
    x = (np.sin(2 * np.pi * 50 * t) + np.sin(2 * np.pi * 150 * t) + np.sin(2 * np.pi * 120 * t))[:, None]
    x = np.repeat(x, 8, axis=1)
    out = preprocess_recording(_rec(x, fs), [{"step": "notch", "f0_hz": 50, "max_hz": 400}])
    y = out.emg[100:1900, 0]
    ref = x[100:1900, 0]
    assert _power_at(y, fs, 50) < 1e-3 * _power_at(ref, fs, 50)
    assert _power_at(y, fs, 150) < 1e-3 * _power_at(ref, fs, 150)
    assert _power_at(y, fs, 120) > 0.8 * _power_at(ref, fs, 120)
    assert out.extra["preprocessing"][0]["step"] == "notch"


def test_bandpass_and_decimate_update_fs_and_trial_bounds():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 8))
    out = preprocess_recording(_rec(x, 2048.0), [{"step": "bandpass", "low_hz": 10, "high_hz": 500},
                                                 {"step": "decimate", "fs_hz": 1024}])
    assert out.fs == 1024.0 and out.emg.shape == (2000, 8)
    assert out.trials["start"].tolist() == [0, 1000] and out.trials["stop"].tolist() == [1000, 2000]
    assert out.trials["active_start"].tolist() == [-1, 1050]
    out.validate("decimated")
    with pytest.raises(ConfigError, match="not an integer factor"):
        preprocess_recording(_rec(x, 2048.0), [{"step": "decimate", "fs_hz": 1000}])


def test_bad_channels_detected_and_interpolated_from_ring_neighbours():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 8))
    x[:, 3] = 0.0          # dead
    x[:, 6] *= 50          # noisy
    dead, noisy = detect_bad_channels(x)
    assert dead.tolist() == [3] and noisy.tolist() == [6]
    y = interpolate_channels(x, myo_ring8(), np.array([3, 6]))
    np.testing.assert_allclose(y[:, 3], (x[:, 2] + x[:, 4]) / 2)
    np.testing.assert_allclose(y[:, 6], (x[:, 5] + x[:, 7]) / 2)
    out = preprocess_recording(_rec(x), [{"step": "bad_channels", "action": "drop"}])
    assert out.emg.shape[1] == 6 and out.layout.n_channels == 6
    assert out.extra["preprocessing"][0]["dead"] == [3]


def test_drop_channels_renumbers_the_grid():
    layout = ElectrodeLayout("g", np.arange(6).reshape(2, 3))
    new, keep = drop_channels(layout, np.array([1, 4]))
    np.testing.assert_array_equal(new.grid, [[0, -1, 1], [2, -1, 3]])
    np.testing.assert_array_equal(keep, [0, 2, 3, 5])


def test_unknown_steps_and_parameters_are_named():
    with pytest.raises(ConfigError, match="'lowpass'"):
        check_steps([{"step": "lowpass"}])
    with pytest.raises(ConfigError, match=r"preprocess step 0 \(bandpass\): unknown parameter\(s\) 'low'"):
        check_steps([{"step": "bandpass", "low": 3}])
    with pytest.raises(ConfigError, match=r"preprocess step 1: unknown preprocessing step 'lowpass'; known: "
                                          r"bad_channels, bandpass, decimate, notch"):
        check_steps([{"step": "notch"}, {"step": "lowpass"}])


def test_check_steps_fills_defaults_in_order():
    assert check_steps([{"step": "bandpass", "high_hz": 300}, {"step": "bad_channels"}]) == [
        {"step": "bandpass", "low_hz": 20.0, "high_hz": 300, "order": 4},
        {"step": "bad_channels", "action": "interpolate", "dead_ratio": 0.1, "noisy_ratio": 5.0},
    ]
    assert list(check_steps([{"step": "notch", "q": 10}])[0]) == ["step", "f0_hz", "max_hz", "q"]
    assert check_steps([{"step": "decimate"}]) == [{"step": "decimate", "fs_hz": 1024.0}]
