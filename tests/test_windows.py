"""Windowing on hand-built recordings: bounds, labels, thinning, alignment."""
import numpy as np
import pandas as pd
import pytest

from myoflow.errors import ConfigError
from myoflow.layouts import ElectrodeLayout, hyser_16x16, icelab_8x24, myo_ring8
from myoflow.store import Recording
from myoflow.inputs.crossuser import epn_window_set, standard_span
from myoflow.inputs.disentangle import hd_measure, preprocess_hdemg, trial_sample_set, trial_segment_set
from myoflow.inputs.hdcnn import hd_image_set
from myoflow.inputs.windowing import majority_labels, sliding_windows, thin_rest


def _epn_recording(subject=0):
    # two repetitions: a 100-sample rest repetition, and a 100-sample fist with active bounds 40..80
    emg = np.arange(200 * 8, dtype=np.float32).reshape(200, 8)
    trials = pd.DataFrame({
        "trial": [0, 1], "label": [0, 1], "repetition": [0, 0], "start": [0, 100], "stop": [100, 200],
        "active_start": [-1, 140], "active_stop": [-1, 180], "sample_set": ["training", "training"],
    })
    return Recording("epn612", subject, 1, emg, 200.0, "a.u.", "Myo", myo_ring8(),
                     ["rest", "fist"], trials, raw_dtype="int8")


def test_sliding_windows_shape_and_content():
    x = np.arange(20).reshape(10, 2)
    w = sliding_windows(x, 4, 3)
    assert w.shape == (3, 2, 4)
    np.testing.assert_array_equal(w[1, 0], [6, 8, 10, 12])  # starts at sample 3, channel 0
    np.testing.assert_array_equal(w[2, 1], [13, 15, 17, 19])


def test_majority_labels_ties_go_to_rest():
    labels = np.array([0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(majority_labels(labels, 4, 2), [0, 1])  # [0,0,1,1] tie -> 0


def test_thin_rest_keeps_every_kth_rest_and_all_active():
    labels = np.array([0, 0, 1, 0, 0, 0, 2, 0])
    keep = thin_rest(labels, 4)
    # rest windows at 0,1,3,4,5,7 -> keep the 1st and 5th of them (indices 0 and 5)
    np.testing.assert_array_equal(np.flatnonzero(keep), [0, 2, 5, 6])


def test_epn_raw_variant_whole_repetition_labels_and_alignment():
    ws = epn_window_set([_epn_recording()], length=20, stride=10, rest_thinning=1)
    m = ws.meta
    assert ws.arrays["windows"].shape == (18, 8, 20)  # 9 windows per 100-sample repetition
    fist = m[m.base_label == 1]
    # window k of the fist repetition covers samples 100+10k .. +20; active 140..180
    assert list(fist["label"]) == [0, 0, 0, 0, 1, 1, 1, 0, 0]  # 130-150 is a 10/10 tie -> rest
    # metadata stays aligned with the windows: the first value of a window is its start sample * 8
    np.testing.assert_array_equal(ws.arrays["windows"][:, 0, 0], m["start"].to_numpy() * 8)


def test_epn_raw_as_published_crops_to_ground_truth():
    ws = epn_window_set([_epn_recording()], length=20, stride=10, rest_thinning=1,
                        crop_raw_to_ground_truth=True)
    fist = ws.meta[ws.meta.base_label == 1]
    assert list(fist["start"]) == [140, 150, 160] and (fist["label"] == 1).all()


def test_epn_rest_thinning_keeps_metadata_aligned():
    ws = epn_window_set([_epn_recording()], length=20, stride=10, rest_thinning=4)
    np.testing.assert_array_equal(ws.arrays["windows"][:, 0, 0], ws.meta["start"].to_numpy() * 8)
    assert (ws.meta["label"] == 1).sum() == 3


def test_epn_unknown_variant_is_named():
    with pytest.raises(ConfigError, match="segmentedd"):
        epn_window_set([_epn_recording()], variant="segmentedd")


def test_hyser_samples_land_on_physical_mosaic():
    layout = hyser_16x16()
    fs = 2048
    emg = np.random.default_rng(0).normal(0, 0.01, (fs, 256)).astype(np.float32)
    emg[:, 5] *= 100  # a loud channel: extensor-distal array, row 0, col 5 -> mosaic (0, 8 + 5)
    trials = pd.DataFrame({"trial": [0], "label": [0], "repetition": [0], "start": [0], "stop": [fs],
                           "active_start": [-1], "active_stop": [-1]})
    rec = Recording("hyser", 1, 1, emg, fs, "mV", "q", layout, ["g"], trials)
    s = trial_sample_set([rec], measure="rms", frame=64)
    x = s.arrays["samples"]
    assert x.shape == (1, 8, 16, 16)  # last 0.5 s at 1024 Hz = 512 samples = 8 frames
    assert np.unravel_index(x[0].mean(0).argmax(), (16, 16)) == (0, 13)
    flat = trial_sample_set([rec], measure="rms", frame=64, physical_layout=False).arrays["samples"]
    assert np.unravel_index(flat[0].mean(0).argmax(), (16, 16)) == (0, 5)  # storage order


def test_long_trials_cut_into_a_segment_every_hop():
    """FlexEMG-like 3.2 s holds at 1 kHz: a 1 s segment every 1 s (3 per trial, the remainder
    dropped), each keeping its last 0.5 s; without a hop one segment per trial, as for Hyser."""
    fs = 1000
    emg = np.random.default_rng(0).normal(0, 1, (6400, 8))
    trials = pd.DataFrame({"trial": [0, 1], "label": [0, 1], "repetition": [0, 0], "start": [0, 3200],
                           "stop": [3200, 6400], "active_start": [-1, -1], "active_stop": [-1, -1]})
    layout = ElectrodeLayout("g4x2", np.arange(8).reshape(4, 2), 10.0)
    rec = Recording("x", 1, 1, emg, fs, "mV", "q", layout, ["a", "b"], trials)
    pre = {"fs_target": 1000.0, "band_hz": (20.0, 450.0), "notch_hz": 0.0}
    seg = trial_segment_set([rec], segment_s=1.0, keep_last_s=0.5, segment_hop_s=1.0, **pre)
    assert seg.arrays["segments"].shape == (6, 500, 8)
    assert seg.meta["segment"].tolist() == [0, 1, 2, 0, 1, 2]
    assert seg.meta["start"].tolist() == [0, 1000, 2000, 3200, 4200, 5200]
    assert seg.meta["label"].tolist() == [0, 0, 0, 1, 1, 1]
    filtered, _ = preprocess_hdemg(emg[3200:6400], fs, **pre)
    np.testing.assert_allclose(seg.arrays["segments"][4], filtered[1500:2000].astype(np.float32))
    one = trial_segment_set([rec], segment_s=1.0, keep_last_s=0.5, **pre)
    assert len(one) == 2 and one.meta["segment"].tolist() == [0, 0]
    with pytest.raises(ConfigError, match="keep_last_s"):
        trial_segment_set([rec], segment_s=1.0, keep_last_s=1.5, **pre)


def test_hd_measures_shapes():
    x = np.random.default_rng(1).normal(size=(512, 4))
    assert hd_measure(x, "raw").shape == (171, 4)
    assert hd_measure(x, "td", frame=128).shape == (20, 4)
    assert hd_measure(x, "envelope").shape == (240, 4)
    assert hd_measure(x, "stft").shape == (2 * 129, 4)  # 2 frames of 256 samples x 129 bins
    assert hd_measure(x, "stft_td").shape == (2 * 129 + 5 * 8, 4)


def test_stft_peaks_at_the_sine_frequency():
    fs, f0 = 1024, 128.0
    t = np.arange(512) / fs
    x = np.sin(2 * np.pi * f0 * t)[:, None]
    spec = hd_measure(x, "stft").reshape(2, 129)
    assert np.argmax(spec[0]) == round(f0 / fs * 256)  # bin 32
    env = hd_measure(2 * x, "envelope")
    np.testing.assert_allclose(env[20:-20, 0], np.sqrt(2), rtol=0.05)  # RMS of a sine of amplitude 2
    with pytest.raises(ConfigError, match="stft2"):
        hd_measure(x, "stft2")


def test_hd_images_window_rms_on_grid():
    layout = icelab_8x24()
    emg = np.zeros((1000, 192), dtype=np.float32)
    emg[:, 64] = 2.0  # second array, row 0, col 0 -> grid (0, 8)
    trials = pd.DataFrame({"trial": [0], "label": [3], "repetition": [2], "start": [0], "stop": [1000],
                           "active_start": [-1], "active_stop": [-1]})
    rec = Recording("icelab", 1, 1, emg, 1000.0, "mV", "q", layout, list("abcd"), trials)
    s = hd_image_set([rec], window_s=0.1, stride_s=0.05)
    img = s.arrays["images"]
    assert img.shape == (19, 1, 8, 24)
    assert img[0, 0, 0, 8] == pytest.approx(2.0) and img[0, 0].sum() == pytest.approx(2.0)
    assert (s.meta["label"] == 3).all() and (s.meta["repetition"] == 2).all()


def _burst_recording(subject=0):
    """A rest repetition (quiet noise) and a fist repetition with a loud burst at samples 80..140."""
    rng = np.random.default_rng(subject)
    rest = rng.normal(0, 1, (200, 8))
    fist = rng.normal(0, 1, (200, 8))
    fist[80:140] *= 30
    emg = np.concatenate([rest, fist]).astype(np.float32)
    trials = pd.DataFrame({
        "trial": [0, 1], "label": [0, 1], "repetition": [0, 0], "start": [0, 200], "stop": [200, 400],
        "active_start": [-1, 270], "active_stop": [-1, 350],  # ground truth wider than the burst
    })
    return Recording("epn612", subject, 1, emg, 200.0, "a.u.", "Myo", myo_ring8(), ["rest", "fist"], trials)


def test_energy_segment_finds_the_burst():
    from myoflow.inputs.crossuser import energy_segment

    a, b = energy_segment(_burst_recording().trial_emg(1))
    assert 75 <= a <= 82 and 138 <= b <= 145


def test_segmented_keeps_only_the_detected_segment():
    ws = epn_window_set([_burst_recording()], variant="segmented", length=20, stride=10, rest_thinning=1)
    fist = ws.meta[ws.meta.base_label == 1]
    assert (fist["label"] == 1).all()
    assert fist["start"].min() >= 275 and fist["start"].max() + 20 <= 345


def test_relabeled_turns_pre_and_post_parts_into_rest():
    ws = epn_window_set([_burst_recording()], variant="relabeled", length=20, stride=10, rest_thinning=1)
    fist = ws.meta[ws.meta.base_label == 1]
    active, rest = fist[fist.label == 1], fist[fist.label == 0]
    assert len(active) and len(rest)
    assert rest["start"].min() == 200 and rest["start"].max() >= 340  # pre and post pieces
    # windows never straddle the segment boundary: every rest window lies outside the segment
    assert ((rest["start"] + 20 <= active["start"].min()) | (rest["start"] >= active["start"].max() + 20)).all()
    np.testing.assert_array_equal(ws.arrays["windows"][:, 0, 0],
                                  _burst_recording().emg[ws.meta["start"].to_numpy(), 0])


def test_relabeled_as_published_cuts_rest_from_the_cropped_segment():
    ws = epn_window_set([_burst_recording()], variant="relabeled", length=20, stride=10, rest_thinning=1,
                        crop_raw_to_ground_truth=True)
    fist = ws.meta[ws.meta.base_label == 1]
    assert fist["start"].min() >= 270 and (fist["start"] + 20).max() <= 350  # inside the ground truth


def test_standard_threshold_fitted_on_training_users_only():
    recs = [_burst_recording(0), _burst_recording(1)]
    ws = epn_window_set(recs, variant="standard", length=40, stride=10, rest_thinning=1, training_subjects=[0])
    thr = ws.attrs["standard_threshold"]
    rest0 = np.abs(sliding_windows(recs[0].trial_emg(0), 40, 10)).mean(axis=(1, 2))
    assert thr == pytest.approx(rest0.mean() + 3 * rest0.std())
    with pytest.raises(ConfigError, match="training_subjects"):
        epn_window_set(recs, variant="standard")


def test_standard_crops_active_repetitions_to_the_threshold_span():
    """As the source's detect_segments: the repetition is cut to [first window above threshold,
    last one + length - 1); every window of it keeps the gesture label; rest repetitions whole."""
    recs = [_burst_recording(0), _burst_recording(1)]
    ws = epn_window_set(recs, variant="standard", length=40, stride=10, rest_thinning=1, training_subjects=[0])
    fist = ws.meta[(ws.meta.base_label == 1) & (ws.meta.subject == 1)]
    assert (fist["label"] == 1).all()
    # the burst is at samples 80..140 of the repetition (which starts at 200): the first 40-sample
    # mean above threshold starts a little after 40, the span ends ~39 samples after the last (~139)
    assert 200 + 35 <= fist["start"].min() <= 200 + 60
    assert fist["start"].max() + 40 <= 200 + 140 + 39
    span = standard_span(recs[1].trial_emg(1), thr := ws.attrs["standard_threshold"], 40)
    assert fist["start"].min() == 200 + span[0] and thr > 0
    rest = ws.meta[(ws.meta.base_label == 0) & (ws.meta.subject == 1)]
    assert len(rest) == len(sliding_windows(recs[1].trial_emg(0), 40, 10))  # kept whole
    # the relabeling alternative keeps the whole repetition, outside the span as rest
    alt = epn_window_set(recs, variant="standard_relabeled", length=40, stride=10, rest_thinning=1,
                         training_subjects=[0])
    alt_fist = alt.meta[(alt.meta.base_label == 1) & (alt.meta.subject == 1)]
    assert alt_fist["start"].min() == 200 and set(alt_fist["label"]) == {0, 1}


def test_standard_keeps_a_repetition_whole_when_the_span_is_short_or_absent():
    """Span <= 2 * length + stride (the source's 2 * SEQ + INC) or nothing above threshold: the
    whole repetition, all of it the gesture."""
    short = _burst_recording(1)
    short.emg[200:400] = np.random.default_rng(5).normal(0, 1, (200, 8))
    short.emg[280:285] *= 30  # a 5-sample blip: windows over it cross, but the span is ~83 samples
    quiet = _burst_recording(2)
    quiet.emg[200:400] = np.random.default_rng(6).normal(0, 1, (200, 8))
    for rec in (short, quiet):
        ws = epn_window_set([_burst_recording(0), rec], variant="standard", length=40, stride=10,
                            rest_thinning=1, training_subjects=[0])
        fist = ws.meta[(ws.meta.base_label == 1) & (ws.meta.subject == rec.subject)]
        assert fist["start"].min() == 200 and fist["start"].max() == 200 + 160
        assert (fist["label"] == 1).all()
    span = standard_span(short.trial_emg(1), ws.attrs["standard_threshold"], 40)
    assert span is not None and span[1] - span[0] <= 2 * 40 + 10


@pytest.mark.parametrize("layout_name, shape", [("icelab_8x24", (8, 24)), ("csl_7x24", (7, 24)),
                                                ("flexemg_16x4", (16, 4)), ("hyser_16x16", (16, 16))])
@pytest.mark.parametrize("mode", ["sample", "window"])
def test_hd_images_put_every_channel_at_its_grid_position(layout_name, shape, mode):
    """Channel c carries the constant c + 1: each pixel must show the channel its layout puts there."""
    from myoflow.layouts import get_layout

    layout = get_layout(layout_name)
    n_ch = int(layout.grid.max()) + 1
    emg = np.tile(np.arange(1, n_ch + 1, dtype=np.float32), (40, 1))
    trials = pd.DataFrame({"trial": [0], "label": [1], "repetition": [0], "start": [0], "stop": [40],
                           "active_start": [-1], "active_stop": [-1]})
    rec = Recording("hd", 1, 1, emg, 100.0, "mV", "grid", layout, ["rest", "fist"], trials)
    images = hd_image_set([rec], mode=mode, window_s=0.1, stride_s=0.1).arrays["images"]
    assert images.shape[1:] == (1,) + shape
    expected = np.where(layout.grid >= 0, layout.grid + 1, 0)
    np.testing.assert_allclose(images[0, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(images[-1, 0], expected, rtol=1e-6)


def test_source_reshape_mixes_channels_and_features_as_the_source_did():
    """The source's reshape((N, 8, F // 8)) of LibEMG's feature-major vector: row 0 of an HTD
    window holds MAV of channels 0-3, row 1 MAV of channels 4-7 - not a time piece."""
    from myoflow.features import extract_features
    from myoflow.inputs.crossuser import feature_channel_axis, feature_model_inputs

    w = np.random.default_rng(0).normal(size=(5, 8, 40)).astype(np.float32)
    values, names = extract_features(w, "HTD", fs=200.0)
    reshaped = feature_model_inputs(values, "source_reshape")
    assert reshaped.shape == (5, 8, 4)
    np.testing.assert_array_equal(reshaped[:, 1], values[:, 4:8])
    assert names[4:8] == ["MAV_ch4", "MAV_ch5", "MAV_ch6", "MAV_ch7"]
    assert feature_model_inputs(values, "window") is values or np.shares_memory(feature_model_inputs(values, "window"), values)
    assert feature_channel_axis("pieces") == 2 and feature_channel_axis("window") == 1
    with pytest.raises(ConfigError, match="feature layout 'time'"):
        feature_model_inputs(values, "time")
    with pytest.raises(ConfigError, match="do not reshape"):
        feature_model_inputs(values[:, :30], "source_reshape")


def test_the_two_cropping_defects_switch_apart():
    # raw cropped, relabeled not: the relabeled variant's rest parts come from the whole repetition
    raw = epn_window_set([_burst_recording()], variant="raw", length=20, stride=10, rest_thinning=1,
                         crop_raw_to_ground_truth=True, relabel_from_cropped=False)
    assert raw.attrs["crop_raw_to_ground_truth"] and not raw.attrs["relabel_from_cropped"]
    fist = raw.meta[raw.meta.base_label == 1]
    assert fist["start"].min() >= 270
    corrected = epn_window_set([_burst_recording()], variant="relabeled", length=20, stride=10, rest_thinning=1)
    relabeled = epn_window_set([_burst_recording()], variant="relabeled", length=20, stride=10, rest_thinning=1,
                               crop_raw_to_ground_truth=True, relabel_from_cropped=False)
    pd.testing.assert_frame_equal(relabeled.meta, corrected.meta)
    cropped = epn_window_set([_burst_recording()], variant="relabeled", length=20, stride=10, rest_thinning=1,
                             relabel_from_cropped=True)
    assert (cropped.meta.base_label == 1).sum() < (corrected.meta.base_label == 1).sum()


def test_misaligned_metadata_shifts_subjects_within_each_group_only():
    recs = [_epn_recording(s) for s in (0, 1, 2)]
    aligned = epn_window_set(recs, length=20, stride=10, rest_thinning=4)
    shifted = epn_window_set(recs, length=20, stride=10, rest_thinning=4, misaligned_metadata_groups=[[0, 1], [2]])
    # windows and labels stay where they were; only the identity columns move
    np.testing.assert_array_equal(shifted.arrays["windows"], aligned.arrays["windows"])
    np.testing.assert_array_equal(shifted.meta["label"], aligned.meta["label"])
    per_subject = len(aligned.meta) // 3
    assert per_subject < 18  # thinning dropped rest windows, so the unthinned rows run out of step
    group = aligned.meta["subject"].isin([0, 1]).to_numpy()
    # within the first group the kept rows take the first unthinned rows: subject 0's 18 rows
    # cover all of them, so every window of subjects 0 and 1 is now labelled subject 0
    assert set(shifted.meta.loc[group, "subject"]) == {0}
    assert set(shifted.meta.loc[~group, "subject"]) == {2}  # the other group keeps its own ids
    assert shifted.attrs["metadata_misaligned"] and not aligned.attrs["metadata_misaligned"]
