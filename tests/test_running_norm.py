"""RunningNorm (issue 11 item 4): streaming per-channel normalisation reset per test user.

Every expectation is computed independently of the implementation (explicit pooled samples, a plain
Python loop over the mixture recurrence), on hand-built streams whose user differs from the training
population by a per-channel gain and offset.
"""

import math

import numpy as np
import pandas as pd
import pytest

from myoflow.errors import ConfigError
from myoflow.running_norm import (
    DEFAULT_EPS,
    PopulationStats,
    RunningNorm,
    apply_running_norm,
    fit_population_stats,
    validate_params,
)

C, T = 3, 8
MU = np.array([0.0, 1.0, -2.0])
VAR = np.array([1.0, 4.0, 0.25])
GAIN = np.array([2.0, 0.5, 3.0])
OFFSET = np.array([1.0, -1.0, 0.5])


def population_windows(n, seed=0):
    """Windows (n, C, T) drawn from the population distribution (mean MU, variance VAR)."""
    rng = np.random.default_rng(seed)
    return MU[None, :, None] + np.sqrt(VAR)[None, :, None] * rng.standard_normal((n, C, T))


def user_windows(s):
    """The same signal as recorded from a user with per-channel gain and offset."""
    return GAIN[None, :, None] * s + OFFSET[None, :, None]


def user_stats():
    return GAIN * MU + OFFSET, GAIN**2 * VAR


# --------------------------------------------------------------------------------------------
# Order of update and first window
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["cumulative", "ema"])
def test_first_window_is_normalised_with_population_stats(mode):
    x = user_windows(population_windows(5))
    rn = RunningNorm(MU, VAR, mode=mode, tau=3.0, prior_count=2.0)
    out, means, varis = rn.transform_stream(x, return_stats=True)
    expected = (x[0] - MU[:, None]) / np.sqrt(VAR + DEFAULT_EPS)[:, None]
    np.testing.assert_allclose(out[0], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(means[0], MU, atol=1e-12)
    np.testing.assert_allclose(varis[0], VAR, rtol=1e-12)
    # the second window already sees the first one
    assert not np.allclose(means[1], MU)


def test_update_after_normalises_a_window_with_itself():
    x = user_windows(population_windows(4))
    rn = RunningNorm(MU, VAR, prior_count=0.0, update="after")
    out = rn.transform_stream(x)
    # no prior weight and the window merged first: window 0 is z-scored with its own statistics
    np.testing.assert_allclose(out[0].mean(axis=1), 0.0, atol=1e-10)
    np.testing.assert_allclose(out[0].var(axis=1), 1.0, rtol=1e-6)


# --------------------------------------------------------------------------------------------
# Cumulative mode
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("update", ["before", "after"])
def test_cumulative_stats_are_the_pooled_stats_of_prior_and_windows_seen(update):
    n0 = 5
    x = user_windows(population_windows(30, seed=1))
    rn = RunningNorm(MU, VAR, mode="cumulative", prior_count=n0, update=update)
    out, means, varis = rn.transform_stream(x, return_stats=True)
    # pseudo-data worth n0 windows with exactly the population mean and variance (mu +- sd)
    signs = np.where(np.arange(n0 * T) % 2 == 0, 1.0, -1.0)
    prior = MU[:, None] + np.sqrt(VAR)[:, None] * signs[None, :]
    for k in range(len(x)):
        seen = k if update == "before" else k + 1
        pooled = np.concatenate([prior, *x[:seen]], axis=1) if seen else prior
        np.testing.assert_allclose(means[k], pooled.mean(axis=1), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(varis[k], pooled.var(axis=1), rtol=1e-10)
        np.testing.assert_allclose(out[k], (x[k] - pooled.mean(axis=1)[:, None]) / np.sqrt(pooled.var(axis=1) + DEFAULT_EPS)[:, None],
                                   rtol=1e-9, atol=1e-9)
    final = np.concatenate([prior, *x], axis=1)
    np.testing.assert_allclose(rn.mean, final.mean(axis=1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rn.var, final.var(axis=1), rtol=1e-10)
    assert rn.n_seen == len(x)


def test_cumulative_converges_to_the_users_stats():
    n0, n = 20, 3000
    x = user_windows(population_windows(n, seed=2))
    rn = RunningNorm(MU, VAR, mode="cumulative", prior_count=n0)
    rn.transform_stream(x)
    user_mean = x.mean(axis=(0, 2))
    # exactly the running mean including the prior's weight ...
    np.testing.assert_allclose(rn.mean, (n0 * MU + n * user_mean) / (n0 + n), rtol=1e-10, atol=1e-12)
    # ... which is close to the user's true statistics, far from the population's
    true_mean, true_var = user_stats()
    np.testing.assert_allclose(rn.mean, true_mean, atol=0.05 * np.sqrt(true_var).max())
    np.testing.assert_allclose(rn.var, true_var, rtol=0.05)
    assert np.all(np.abs(rn.var / VAR - 1) > 0.5)


def test_batch_size_updates_once_per_batch():
    x = user_windows(population_windows(10, seed=3))
    rn = RunningNorm(MU, VAR, prior_count=4.0, batch_size=4)
    _, means, varis = rn.transform_stream(x, return_stats=True)
    # windows 0-3 share the population stats, 4-7 the stats after 4 windows, 8-9 after 8
    for a, b in [(0, 4), (4, 8), (8, 10)]:
        np.testing.assert_array_equal(means[a:b], np.broadcast_to(means[a], (b - a, C)))
    np.testing.assert_allclose(means[0], MU)
    np.testing.assert_allclose(means[4], (4 * MU + x[:4].mean(axis=(0, 2)) * 4) / 8)
    np.testing.assert_allclose(rn.mean, (4 * MU + x.mean(axis=(0, 2)) * 10) / 14)


# --------------------------------------------------------------------------------------------
# EMA mode
# --------------------------------------------------------------------------------------------


def ema_by_hand(x, tau, batch_size):
    """Mixture recurrence, one batch at a time, in the mean/variance form (not raw moments)."""
    mean, var = MU.copy(), VAR.copy()
    used = []
    for s in range(0, len(x), batch_size):
        batch = x[s:s + batch_size]
        b = len(batch)
        used += [(mean.copy(), var.copy())] * b
        a = 1.0 - math.exp(-b / tau)
        m_b, v_b = batch.mean(axis=(0, 2)), batch.var(axis=(0, 2))
        var = (1 - a) * var + a * v_b + a * (1 - a) * (m_b - mean) ** 2
        mean = (1 - a) * mean + a * m_b
    return used, mean, var


@pytest.mark.parametrize("batch_size", [1, 3])
def test_ema_matches_the_hand_computed_recurrence(batch_size):
    tau = 7.0
    x = user_windows(population_windows(20, seed=4))  # 20 = 6 batches of 3 + a short one of 2
    rn = RunningNorm(MU, VAR, mode="ema", tau=tau, batch_size=batch_size)
    out, means, varis = rn.transform_stream(x, return_stats=True)
    used, mean, var = ema_by_hand(x, tau, batch_size)
    for k, (m, v) in enumerate(used):
        np.testing.assert_allclose(means[k], m, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(varis[k], v, rtol=1e-10)
        np.testing.assert_allclose(out[k], (x[k] - m[:, None]) / np.sqrt(v + DEFAULT_EPS)[:, None], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rn.mean, mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rn.var, var, rtol=1e-10)


def test_ema_weight_of_the_prior_decays_with_tau():
    # a constant stream (variance 0) at value 5: the mean moves as 5 + (MU - 5) * exp(-n / tau)
    tau, n = 10.0, 25
    x = np.full((n, C, T), 5.0)
    rn = RunningNorm(MU, VAR, mode="ema", tau=tau)
    rn.transform_stream(x)
    np.testing.assert_allclose(rn.mean, 5.0 + (MU - 5.0) * math.exp(-n / tau), rtol=1e-12)
    # the same time constant whatever the batch size
    rn5 = RunningNorm(MU, VAR, mode="ema", tau=tau, batch_size=5)
    rn5.transform_stream(x)
    np.testing.assert_allclose(rn5.mean, rn.mean, rtol=1e-12)


def test_ema_converges_to_the_users_stats():
    x = user_windows(population_windows(2000, seed=5))
    rn = RunningNorm(MU, VAR, mode="ema", tau=50.0)
    rn.transform_stream(x)
    true_mean, true_var = user_stats()
    np.testing.assert_allclose(rn.mean, true_mean, atol=0.15 * np.sqrt(true_var).max())
    np.testing.assert_allclose(rn.var, true_var, rtol=0.2)
    assert np.all(np.abs(rn.var / VAR - 1) > 0.5)


# --------------------------------------------------------------------------------------------
# Recovery of a gain/offset-shifted user
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["cumulative", "ema"])
def test_recovers_the_population_normalised_signal(mode):
    s = population_windows(1500, seed=6)
    x = user_windows(s)
    reference = (s - MU[None, :, None]) / np.sqrt(VAR)[None, :, None]
    z = RunningNorm(MU, VAR, mode=mode, tau=60.0, prior_count=20.0).transform_stream(x)
    frozen = RunningNorm(MU, VAR).transform(x)  # population statistics only: no adaptation
    late = slice(500, None)
    err_running = np.abs(z[late] - reference[late]).mean()
    err_frozen = np.abs(frozen[late] - reference[late]).mean()
    assert err_running < 0.1, err_running
    assert err_frozen > 1.0, err_frozen


def test_rescale_returns_population_units():
    s = population_windows(1500, seed=7)
    x = user_windows(s)
    rn = RunningNorm(MU, VAR, rescale=True)
    y = rn.transform_stream(x)
    # the first window sees the population stats: identity
    np.testing.assert_allclose(y[0], x[0], rtol=1e-7)
    # later windows look like the population signal again
    assert np.abs(y[500:] - s[500:]).mean() < 0.1 * np.sqrt(VAR).max()


# --------------------------------------------------------------------------------------------
# Per-user application: reset and recording order
# --------------------------------------------------------------------------------------------


def two_users(seed=8):
    rng = np.random.default_rng(seed)
    a = 3.0 * population_windows(40, seed=seed) - 4.0  # user A: very different gain and offset
    b = user_windows(population_windows(30, seed=seed + 1))
    X = np.concatenate([a, b])
    users = np.array(["A"] * len(a) + ["B"] * len(b))
    trial = np.concatenate([np.repeat(np.arange(4), 10), np.repeat(np.arange(3), 10)])
    start = np.concatenate([np.tile(np.arange(10) * 5, 4), np.tile(np.arange(10) * 5, 3)])
    return X, users, trial, start, rng


def test_reset_between_users():
    X, users, trial, start, rng = two_users()
    stats = (MU, VAR)
    both = apply_running_norm(X, users, None, stats, dtype=np.float64)
    isb = users == "B"
    only_b = apply_running_norm(X[isb], users[isb], None, stats, dtype=np.float64)
    np.testing.assert_array_equal(both[isb], only_b)
    other_a = X.copy()
    other_a[~isb] = rng.normal(50.0, 10.0, size=other_a[~isb].shape)
    np.testing.assert_array_equal(apply_running_norm(other_a, users, None, stats, dtype=np.float64)[isb], only_b)
    # without the reset B's output would carry A's statistics (the test can fail)
    carried = RunningNorm(MU, VAR).transform_stream(X)[isb]
    assert np.abs(carried - only_b).max() > 0.1
    # and B's first window is normalised with the population statistics
    np.testing.assert_allclose(only_b[0], (X[isb][0] - MU[:, None]) / np.sqrt(VAR + DEFAULT_EPS)[:, None], rtol=1e-12)


def test_each_user_is_processed_in_recording_order():
    X, users, trial, start, rng = two_users()
    perm = rng.permutation(len(X))
    Xs, us, ts, ss = X[perm], users[perm], trial[perm], start[perm]
    got = apply_running_norm(Xs, us, (ts, ss), PopulationStats(MU, VAR), mode="ema", tau=5.0)
    expected = np.empty_like(X)
    for u in ("A", "B"):
        m = users == u
        idx = np.flatnonzero(m)[np.lexsort((start[m], trial[m]))]
        expected[idx] = RunningNorm(MU, VAR, mode="ema", tau=5.0).transform_stream(X[idx])
    assert got.dtype == np.float32 and got.shape == X.shape
    np.testing.assert_allclose(got, expected[perm].astype(np.float32), rtol=1e-6, atol=1e-6)
    # a DataFrame and a (K, N) array give the same order keys
    np.testing.assert_array_equal(apply_running_norm(Xs, us, pd.DataFrame({"trial": ts, "start": ss}), (MU, VAR), mode="ema", tau=5.0), got)
    np.testing.assert_array_equal(apply_running_norm(Xs, us, np.stack([ts, ss]), (MU, VAR), mode="ema", tau=5.0), got)
    # the shuffled row order, taken as the recording order, gives something else
    assert np.abs(apply_running_norm(Xs, us, None, (MU, VAR), mode="ema", tau=5.0) - got).max() > 0.1


def test_stream_continues_across_calls():
    x = user_windows(population_windows(24, seed=9))
    for mode in ("cumulative", "ema"):
        whole = RunningNorm(MU, VAR, mode=mode, tau=4.0, batch_size=3).transform_stream(x)
        rn = RunningNorm(MU, VAR, mode=mode, tau=4.0, batch_size=3)
        parts = np.concatenate([rn.transform_stream(x[:12]), rn.transform_stream(x[12:])])
        np.testing.assert_allclose(parts, whole, rtol=1e-12, atol=1e-12)
        fitted = RunningNorm(MU, VAR, mode=mode, tau=4.0, batch_size=3).partial_fit(x[:12])
        np.testing.assert_allclose(fitted.transform_stream(x[12:]), whole[12:], rtol=1e-12, atol=1e-12)
        rn.reset()
        np.testing.assert_allclose(rn.mean, MU)
        np.testing.assert_allclose(rn.var, VAR)
        assert rn.n_seen == 0


# --------------------------------------------------------------------------------------------
# Shapes, dtypes, population statistics
# --------------------------------------------------------------------------------------------


def test_features_are_normalised_per_feature():
    rng = np.random.default_rng(10)
    mu, var = np.array([1.0, -3.0, 10.0, 0.0]), np.array([0.5, 2.0, 9.0, 1.0])
    F = rng.normal(mu, np.sqrt(var), size=(50, 4))
    rn = RunningNorm(mu, var, prior_count=3.0)
    out, means, _ = rn.transform_stream(F, return_stats=True)
    assert out.shape == F.shape
    np.testing.assert_allclose(out[0], (F[0] - mu) / np.sqrt(var + DEFAULT_EPS))
    np.testing.assert_allclose(means[10], (3 * mu + F[:10].sum(axis=0)) / 13)
    # sub-window features (N, S, F): the feature axis named explicitly
    sub = rng.normal(size=(20, 4, 5))
    st = fit_population_stats(sub, axis=2)
    np.testing.assert_allclose(st.mean, sub.mean(axis=(0, 1)))
    a = RunningNorm(*st, axis=2, mode="ema", tau=3.0).transform_stream(sub)
    b = RunningNorm(*st, axis=1, mode="ema", tau=3.0).transform_stream(np.moveaxis(sub, 2, 1))
    np.testing.assert_allclose(a, np.moveaxis(b, 1, 2), rtol=1e-12)


def test_int8_windows_do_not_overflow():
    rng = np.random.default_rng(11)
    x8 = rng.integers(-128, 128, size=(30, 8, 40)).astype(np.int8)
    st = fit_population_stats(x8)
    np.testing.assert_allclose(st.mean, x8.astype(np.float64).mean(axis=(0, 2)))
    np.testing.assert_allclose(st.var, x8.astype(np.float64).var(axis=(0, 2)))
    a = RunningNorm(*st).transform_stream(x8)
    b = RunningNorm(*st).transform_stream(x8.astype(np.float64))
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_fit_population_stats_in_chunks_equals_numpy():
    x = population_windows(101, seed=12) * 1e3 + 1e5  # a large offset: the two-pass variance stays exact
    st = fit_population_stats(x, chunk=7)
    np.testing.assert_allclose(st.mean, x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(st.var, x.var(axis=(0, 2)), rtol=1e-9)
    feats = x[:, :, 0]
    np.testing.assert_allclose(fit_population_stats(feats).var, feats.var(axis=0), rtol=1e-9)


def test_dead_channel_stays_finite():
    var = np.array([1.0, 0.0, 4.0])
    x = population_windows(10, seed=13)
    x[:, 1] = 0.0
    out = RunningNorm(np.array([0.0, 0.0, 1.0]), var, mode="ema", tau=2.0).transform_stream(x)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[:, 1], 0.0)


def test_shape_errors():
    rn = RunningNorm(MU, VAR)
    with pytest.raises(ValueError, match="3 channels, got 4"):
        rn.transform_stream(np.zeros((2, 4, T)))
    with pytest.raises(ValueError, match="axis 0 is the window axis"):
        RunningNorm(MU, VAR, axis=0).transform_stream(np.zeros((2, 3, T)))
    with pytest.raises(ValueError, match="equal length"):
        RunningNorm(MU, VAR[:2])
    with pytest.raises(ValueError, match="users must have shape"):
        apply_running_norm(np.zeros((4, C, T)), np.zeros(3), None, (MU, VAR))
    with pytest.raises(ValueError, match="order keys"):
        apply_running_norm(np.zeros((4, C, T)), np.zeros(4), np.arange(3), (MU, VAR))


# --------------------------------------------------------------------------------------------
# Configuration errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, value, expected",
    [
        ({"mode": "exponential"}, "'exponential'", "'cumulative', 'ema'"),
        ({"mode": "EMA"}, "'EMA'", "'cumulative', 'ema'"),
        ({"tau": 0}, "got 0", "positive finite number of windows"),
        ({"tau": -5.0}, "got -5.0", "positive finite number of windows"),
        ({"tau": float("nan")}, "got nan", "positive finite number of windows"),
        ({"tau": float("inf")}, "got inf", "positive finite number of windows"),
        ({"tau": "10"}, "got '10'", "positive finite number of windows"),
        ({"tau": True}, "got True", "positive finite number of windows"),
        ({"prior_count": -1}, "got -1", "finite number of windows >= 0"),
        ({"update": "during"}, "'during'", "'before', 'after'"),
        ({"batch_size": 0}, "got 0", "positive integer"),
        ({"batch_size": 2.5}, "got 2.5", "positive integer"),
        ({"eps": 0.0}, "got 0.0", "positive finite"),
    ],
)
def test_invalid_settings_raise_config_error(kwargs, value, expected):
    for call in (lambda: RunningNorm(MU, VAR, **kwargs), lambda: validate_params(**kwargs),
                 lambda: apply_running_norm(np.zeros((2, C, T)), np.zeros(2), None, (MU, VAR), **kwargs)):
        with pytest.raises(ConfigError) as info:
            call()
        assert isinstance(info.value, ValueError)
        msg = str(info.value)
        assert value in msg and expected in msg, msg


def test_running_norm_recovers_accuracy_lost_to_gain_and_offset():
    """Test users whose features carry a per-channel gain and offset (another placement, skin,
    amplifier): an LDA trained on the population loses accuracy on them; RunningNorm from the
    training statistics, reset per user, gets it back (cumulative and EMA)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from myoflow.running_norm import fit_population_stats, running_norm_inputs

    rng = np.random.default_rng(3)
    n_classes, n_feat, reps, per_trial = 5, 8, 4, 20
    patterns = rng.normal(0, 1.0, (n_classes, n_feat))

    def user(subject, gain, offset):
        rows, X = [], []
        for rep in range(reps):
            for c in range(n_classes):  # gestures in turn, as recorded
                trial = rep * n_classes + c
                X.append(gain * (patterns[c] + rng.normal(0, 0.6, (per_trial, n_feat))) + offset)
                rows += [{"subject": subject, "session": 1, "trial": trial, "start": trial * per_trial + k,
                          "label": c} for k in range(per_trial)]
        return np.concatenate(X), pd.DataFrame(rows)

    train = [user(s, 1.0, 0.0) for s in range(6)]
    test = [user(10 + s, rng.uniform(0.3, 3.0, n_feat), rng.normal(0, 4.0, n_feat)) for s in range(4)]
    X_tr = np.concatenate([x for x, _ in train])
    y_tr = pd.concat([m for _, m in train])["label"].to_numpy()
    X_te = np.concatenate([x for x, _ in test])
    meta = pd.concat([m for _, m in test], ignore_index=True)
    model = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis()).fit(X_tr, y_tr)
    stats = fit_population_stats(X_tr, axis=1)

    def score(X):
        per_user = [balanced_accuracy_score(meta["label"][meta.subject == s], model.predict(X[meta.subject == s]))
                    for s in meta.subject.unique()]
        return float(np.mean(per_user))

    every = np.ones(len(meta), dtype=bool)
    plain = score(X_te)
    cumulative = score(running_norm_inputs(X_te, meta, stats, every, mode="cumulative", prior_count=20))
    ema = score(running_norm_inputs(X_te, meta, stats, every, mode="ema", tau=100))
    assert score(X_tr[: len(X_te)] * 1.0) > 0.9  # the population itself is easy
    assert plain < 0.8, plain
    assert cumulative > plain + 0.1 and ema > plain + 0.1, (plain, cumulative, ema)
    # only the masked rows change: the others are passed through (cast to float32)
    half = every.copy()
    half[meta.subject.to_numpy() != 10] = False
    mixed = running_norm_inputs(X_te, meta, stats, half, mode="ema", tau=100)
    np.testing.assert_array_equal(mixed[~half], X_te[~half].astype(np.float32))


def test_within_user_running_norm_starts_each_user_from_its_own_training_windows():
    """Each user's test stream is normalised as running_norm_inputs would with that user's own
    training statistics; the other rows are untouched (float32)."""
    import pandas as pd

    from myoflow.running_norm import fit_population_stats, running_norm_inputs, running_norm_inputs_own_statistics

    rng = np.random.default_rng(3)
    subjects = np.repeat([0, 1], 60)
    X = rng.normal(0, 1, (120, 3, 5)) * np.where(subjects == 1, 4.0, 1.0)[:, None, None] + subjects[:, None, None]
    meta = pd.DataFrame({"subject": subjects, "session": 1, "trial": np.tile(np.repeat([0, 1], 30), 2),
                         "start": np.tile(np.arange(30), 4)})
    train = np.tile(np.arange(60) < 30, 2)  # first trial of each user trains
    test = ~train
    params = {"mode": "ema", "tau": 20.0, "prior_count": 10.0}
    out = running_norm_inputs_own_statistics(X, meta, test, X, meta, train, **params)
    for s in (0, 1):
        mine = subjects == s
        expect = running_norm_inputs(X[mine], meta[mine], fit_population_stats(X[train & mine]), test[mine], **params)
        np.testing.assert_allclose(out[mine], expect, rtol=1e-6)
    np.testing.assert_array_equal(out[train], X[train].astype(np.float32))
    with pytest.raises(ValueError, match="user 1 has test windows but no training windows"):
        running_norm_inputs_own_statistics(X, meta, test, X, meta, train & (subjects == 0), **params)
