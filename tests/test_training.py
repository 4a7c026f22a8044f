"""Training: TorchClassifier contract, determinism, persistence, early stopping, losses, disentanglement."""
import uuid

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from myoflow.disentangle import encode_latents, reconstruct, train_disentangle
from myoflow.losses import LOSSES, cvar_loss, make_loss
from myoflow.seeding import set_seed
from myoflow.torch_estimator import TorchClassifier

N_CLASSES = 4


@pytest.fixture(scope="module", autouse=True)
def _restore_torch_threads():
    # the estimators below pin torch to one thread (robust timing on a shared 2-core machine);
    # give later test modules the thread count they started with
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _myo_like(n, seed):
    """Int8 windows (n, 8, 40): a class-specific per-channel offset plus noise; trivially separable."""
    rng = np.random.default_rng(seed)
    offsets = np.random.default_rng(99).normal(0, 1, (N_CLASSES, 8, 1)) * 40
    y = rng.integers(0, N_CLASSES, n)
    X = rng.normal(0, 30, (n, 8, 40)) + offsets[y]
    return np.clip(X, -128, 127).astype(np.int8), y


@pytest.fixture(scope="module")
def data():
    X, y = _myo_like(480, 0)
    Xv, yv = _myo_like(160, 1)
    return X, y, Xv, yv


def _clf(**kw):
    params = dict(batch_size=64, max_epochs=6, patience=5, lr=2e-3, input_scale=1 / 128, threads=1, device="cpu")
    params.update(kw)
    return TorchClassifier(**params)


@pytest.fixture(scope="module")
def fitted(data):
    X, y, Xv, yv = data
    return _clf().fit(X, y, Xv, yv)


# ---------------------------------------------------------------------------------------------
# TorchClassifier


def test_learns_separable_problem(fitted, data):
    _, _, Xv, yv = data
    assert (fitted.predict(Xv) == yv).mean() > 0.9
    proba = fitted.predict_proba(Xv)
    assert proba.shape == (len(Xv), N_CLASSES)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    assert fitted.score(Xv, yv) > 0.9  # ClassifierMixin


def test_history_records_every_epoch(fitted):
    h = fitted.history_
    assert len(h) >= 1
    assert set(h[0]) >= {"epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds"}
    assert [r["epoch"] for r in h] == list(range(len(h)))
    assert h[-1]["train_loss"] < h[0]["train_loss"]


def test_transform_returns_embeddings(fitted, data):
    emb = fitted.transform(data[2][:10])
    assert emb.shape == (10, 128) and emb.dtype == np.float32


def test_deterministic_for_fixed_seed(fitted, data):
    X, y, Xv, yv = data
    again = _clf().fit(X, y, Xv, yv)
    np.testing.assert_array_equal(fitted.predict_proba(Xv), again.predict_proba(Xv))
    assert [r["train_loss"] for r in fitted.history_] == [r["train_loss"] for r in again.history_]


def test_save_load_roundtrip(fitted, data, tmp_path):
    Xv = data[2]
    path = tmp_path / "sub" / "model.pt"
    fitted.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary left behind
    loaded = TorchClassifier.load(path, device="cpu")
    np.testing.assert_array_equal(loaded.predict_proba(Xv), fitted.predict_proba(Xv))
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.history_ == fitted.history_


def test_string_labels(data):
    X, y, _, _ = data
    names = np.array(["rest", "fist", "open", "pinch"])[y]
    clf = _clf(max_epochs=2, model="mlp").fit(X.reshape(len(X), -1)[:, :64], names)
    assert set(clf.predict(X.reshape(len(X), -1)[:5, :64])) <= set(names)


def test_early_stopping_restores_best_weights(data):
    X, y, Xv, yv = data
    # validation labels are shifted: the better the model learns y, the worse the validation loss,
    # so the best epoch is early and training must stop `patience` epochs later
    y_bad = (yv + 1) % N_CLASSES
    clf = _clf(max_epochs=30, patience=3, scheduler=None).fit(X, y, Xv, y_bad)
    val = [r["val_loss"] for r in clf.history_]
    best = int(np.argmin(val))
    assert clf.best_epoch_ == best
    assert len(clf.history_) == best + 3 + 1 < 30
    proba = clf.predict_proba(Xv)
    restored_loss = -np.mean(np.log(proba[np.arange(len(yv)), y_bad]))
    assert restored_loss == pytest.approx(val[best], rel=1e-3)
    assert restored_loss < val[-1]


def test_cosine_schedule_and_adamw(data):
    X, y, _, _ = data
    clf = _clf(max_epochs=4, optimizer="adamw", weight_decay=1e-3, scheduler="cosine").fit(X[:128], y[:128])
    lrs = [r["lr"] for r in clf.history_]
    assert lrs[0] == pytest.approx(2e-3) and lrs == sorted(lrs, reverse=True) and lrs[-1] < lrs[0]
    assert clf.best_epoch_ == len(clf.history_) - 1 and clf.history_[0]["val_loss"] is None


def test_mobilenetv2_classifier_smoke():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 1, 8, 24)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    clf = TorchClassifier(
        model="mobilenetv2", model_params={"width": 0.2}, optimizer="adamw", lr=3e-4, weight_decay=3e-4,
        label_smoothing=0.1, scheduler="cosine", batch_size=32, max_epochs=1, threads=1, device="cpu",
    ).fit(X, y)
    assert clf.predict(X[:5]).shape == (5,)
    assert clf.transform(X[:2]).shape == (2, 3840)


def test_bad_configuration_is_named(data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="nonet"):
        _clf(model="nonet").fit(X, y)
    with pytest.raises(ValueError, match="depth"):
        _clf(model_params={"depth": 3}).fit(X, y)
    with pytest.raises(ValueError, match="sgd"):
        _clf(optimizer="sgd").fit(X, y)
    with pytest.raises(ValueError, match="focal"):
        _clf(loss="focal").fit(X, y)
    with pytest.raises(ValueError, match="not seen"):
        _clf(max_epochs=1).fit(X, y, X[:4], np.array([0, 1, 2, 9]))


# ---------------------------------------------------------------------------------------------
# losses


def test_cvar_is_mean_of_hardest_share():
    torch.manual_seed(0)
    logits, labels = torch.randn(10, 5), torch.randint(0, 5, (10,))
    per = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    expected = per.sort(descending=True).values[:3].mean()  # ceil(0.3 * 10) = 3
    torch.testing.assert_close(cvar_loss(logits, labels), expected)
    torch.testing.assert_close(make_loss("cvar", alpha=1.0)(logits, labels), per.mean())
    torch.testing.assert_close(make_loss("ce")(logits, labels, None, None), per.mean())


def test_make_loss_names_unknown_things():
    with pytest.raises(ValueError, match="nosuchloss") as err:
        make_loss("nosuchloss")
    assert "ce" in str(err.value) and "cvar" in str(err.value)
    with pytest.raises(ValueError, match="beta"):
        make_loss("cvar", beta=0.5)


@pytest.fixture
def fresh_loss():
    """Register a loss under a fresh name for one test, removed afterwards (the registry is process-wide
    and has no public removal: library registrations are permanent)."""
    added = []

    def register(fn):
        name = f"probe_{uuid.uuid4().hex}"
        LOSSES.register(name, fn)
        added.append(name)
        return name

    yield register
    for name in added:
        del LOSSES._entries[name]


def test_registered_loss_gets_embeddings_users_and_epoch(data, fresh_loss):
    X, y, _, _ = data
    seen = []

    def probe(logits, labels, embeddings=None, users=None, *, label_smoothing=0.0, epoch=0):
        seen.append((embeddings.shape[1], users.shape[0], epoch))
        return torch.nn.functional.cross_entropy(logits, labels, label_smoothing=label_smoothing)

    name = fresh_loss(probe)
    groups = np.arange(len(X)) % 7
    _clf(loss=name, max_epochs=2, batch_size=256).fit(X, y, groups=groups)
    assert seen == [(128, 256, 0), (128, 224, 0), (128, 256, 1), (128, 224, 1)]


def test_fit_passes_groups_to_the_loss_as_users(fresh_loss):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 320)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    groups = rng.choice([11, 42, 7], 40)  # user ids, not codes: the loss sees codes 0..U-1
    seen = []

    def probe(logits, labels, embeddings=None, users=None, *, label_smoothing=0.0):
        seen.append(None if users is None else users.cpu().numpy().copy())
        return torch.nn.functional.cross_entropy(logits, labels)

    name = fresh_loss(probe)
    clf = TorchClassifier(model="mlp", loss=name, max_epochs=1, batch_size=40, scheduler=None, threads=1,
                          device="cpu", seed=0)
    clf.fit(X, y, groups=groups)
    order = torch.randperm(40, generator=torch.Generator().manual_seed(0)).numpy()  # the epoch's shuffle
    codes = np.searchsorted([7, 11, 42], groups)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], codes[order])
    seen.clear()
    clf.fit(X, y)  # without groups the loss gets None
    assert seen == [None]
    with pytest.raises(ValueError, match="groups"):
        clf.fit(X, y, groups=groups[:-1])


def test_set_seed_repeats_random_streams():
    set_seed(5)
    a = (torch.rand(3), np.random.rand(3))
    set_seed(5)
    b = (torch.rand(3), np.random.rand(3))
    torch.testing.assert_close(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


# ---------------------------------------------------------------------------------------------
# disentanglement

TINY = dict(encoder_channels=(16, 16, 8), decoder_channels=(16, 8), disc_hidden=(32, 16), batch_size=64, threads=1,
            device="cpu")


def _components(seed=0, n_gestures=5, n_subjects=6, reps=10, f=4):
    """X = pattern(gesture) + component(subject) + noise on (f, 16, 16) maps of 4x4 blocks."""
    rng = np.random.default_rng(seed)

    def blocky():
        return np.kron(rng.normal(0, 1, (f, 4, 4)), np.ones((1, 4, 4)))

    pattern = np.stack([blocky() for _ in range(n_gestures)])
    component = np.stack([blocky() for _ in range(n_subjects)])
    g = np.repeat(np.arange(n_gestures), n_subjects * reps)
    s = np.tile(np.repeat(np.arange(n_subjects), reps), n_gestures)
    X = pattern[g] + component[s] + rng.normal(0, 0.3, (len(g), f, 16, 16))
    return X.astype(np.float32), g, s


@pytest.fixture(scope="module")
def disentangled():
    X, g, s = _components()
    model, history = train_disentangle(X, g, s, {**TINY, "epochs": 30})
    return model, history, X, g, s


def test_pattern_latents_classify_gesture_better_than_subject_latents(disentangled):
    model, history, X, g, s = disentangled
    xp, xs = encode_latents(model, X)
    assert xp.shape == xs.shape == (len(X), model.latent_dim)
    train, test = s != 5, s == 5  # held-out subject
    acc = [KNeighborsClassifier(1).fit(z[train], g[train]).score(z[test], g[test]) for z in (xp, xs)]
    assert acc[0] >= 0.8
    assert acc[0] > acc[1]
    assert history[-1]["recon"] < history[0]["recon"]
    assert set(history[0]) >= {"loss_g", "recon", "trip_p", "trip_s", "cross", "adv_g", "loss_d", "lr"}


def test_reconstruct_parts(disentangled):
    model, _, X, _, _ = disentangled
    xp, xs = encode_latents(model, X[:6])
    maps_p, _ = encode_latents(model, X[:6], flatten=False)
    assert maps_p.shape == (6, *model.latent_shape)
    with torch.no_grad():
        zp, zs = torch.from_numpy(xp), torch.from_numpy(xs)
        both = model.decode(zp, zs).numpy()
        pat = model.decode(zp, torch.zeros_like(zs)).numpy()
        sub = model.decode(torch.zeros_like(zp), zs).numpy()
    np.testing.assert_allclose(reconstruct(model, xp, xs, "both"), both, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reconstruct(model, xp, None, "pattern"), pat, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reconstruct(model, None, xs, "subject"), sub, rtol=1e-5, atol=1e-6)
    assert reconstruct(model, maps_p, xs, "pattern").shape == X[:6].shape
    with pytest.raises(ValueError, match="part"):
        reconstruct(model, xp, xs, "neither")


def test_as_published_adversarial_loss_never_reaches_generator():
    X, g, s = _components(n_subjects=3, reps=4)

    def generator_weights(**kw):
        model, _ = train_disentangle(X, g, s, {**TINY, "epochs": 2, **kw})
        return torch.cat([p.detach().flatten() for p in model.generator_parameters()])

    off_a = generator_weights(adversarial_to_generator=False, adversarial_weight=0.0)
    off_b = generator_weights(adversarial_to_generator=False, adversarial_weight=1.0)
    on = generator_weights(adversarial_to_generator=True, adversarial_weight=1.0)
    torch.testing.assert_close(off_a, off_b, rtol=0, atol=0)
    assert not torch.equal(off_a, on)


def test_train_disentangle_names_unknown_params():
    X, g, s = _components(n_subjects=2, reps=2)
    with pytest.raises(ValueError, match="lamda1"):
        train_disentangle(X, g, s, {"lamda1": 0.5})


# ---------------------------------------------------------------------------------------------
# estimators on a fold


def _fold_data():
    import pandas as pd

    from myoflow.splits import fixed_user_split

    X, y = _myo_like(240, 4)
    meta = pd.DataFrame({"subject": np.repeat(np.arange(6), 40), "session": 1, "repetition": 0,
                         "trial": 0, "label": y, "base_label": y, "start": 0})
    return X, y, meta, fixed_user_split(list(range(6)), 3, 1)  # users 0-2 train, 3 validates, 4-5 test


def test_fit_and_predict_fold_gives_subject_ids_to_fits_that_take_groups():
    import logging

    from myoflow.estimators import fit_and_predict_fold

    X, y, meta, folds = _fold_data()
    seen = {}

    class Probe:
        classes_ = np.arange(N_CLASSES)

        def fit(self, X, y, X_val=None, y_val=None, groups=None, groups_val=None):
            seen.update(n=len(X), groups=groups, groups_val=groups_val, n_val=len(X_val))
            return self

        def predict_proba(self, X):
            return np.full((len(X), N_CLASSES), 1 / N_CLASSES)

    table = fit_and_predict_fold(Probe(), X, y, meta, folds, 0, logging.getLogger("test"))
    assert seen["n"] == 120 and seen["n_val"] == 40
    np.testing.assert_array_equal(seen["groups"], np.repeat([0, 1, 2], 40))
    np.testing.assert_array_equal(seen["groups_val"], np.repeat([3], 40))
    assert sorted(table["subject"].unique()) == [4, 5]


def test_estimators_save_and_load(tmp_path):
    import logging

    from myoflow.estimators import build_estimator, fit_and_predict_fold, load_estimator, save_estimator

    X, y, meta, folds = _fold_data()
    log = logging.getLogger("test")
    lda = build_estimator("lda", {}, seed=0)
    table = fit_and_predict_fold(lda, X.reshape(len(X), -1)[:, ::8].astype(float), y, meta, folds, 0, log)
    assert len(table) == 80
    torch_est = build_estimator("torch", {"model": "mlp", "max_epochs": 1, "batch_size": 64, "device": "cpu"},
                                seed=0)
    fit_and_predict_fold(torch_est, X.reshape(len(X), -1).astype(np.float32), y, meta, folds, 0, log)
    for name, est, Xp in (("lda", lda, X.reshape(len(X), -1)[:, ::8].astype(float)),
                          ("torch", torch_est, X.reshape(len(X), -1).astype(np.float32))):
        save_estimator(tmp_path / name, est)
        again = load_estimator(tmp_path / name)
        np.testing.assert_array_equal(again.predict_proba(Xp), est.predict_proba(Xp))


# ---- MHCNN_GRL, the triplet sampler, class weights, standardised inputs ---------------------

def _with_users(n, seed, n_users=4):
    X, y = _myo_like(n, seed)
    return X, y, np.random.default_rng(seed + 7).integers(0, n_users, n) + 100  # ids need not be 0..U-1


def test_mhcnn_grl_user_head_is_sized_from_the_training_users_and_learns_through_the_reversal(tmp_path):
    X, y, users = _with_users(400, 3, n_users=5)
    est = TorchClassifier(model="mhcnn_grl", loss="grl", loss_params={"ramp_epochs": 1}, max_epochs=2,
                          batch_size=64, input_scale=1 / 128, threads=1, patience=None, scheduler=None)
    est.fit(X, y, groups=users)
    assert est.fit_model_params_ == {"n_users": 5}
    assert est.model_.user_head.out_features == 5
    # the head's weights moved from their seeded initial values (the optimizer trained it)
    set_seed(est.seed, 1, True)
    initial = est._build()
    assert not torch.allclose(initial.user_head.weight, est.model_.user_head.weight)
    path = tmp_path / "grl.model"
    est.save(path)
    again = TorchClassifier.load(path)
    np.testing.assert_array_equal(again.predict(X[:64]), est.predict(X[:64]))


def test_grl_reversal_pushes_the_encoder_against_the_user_head():
    """The encoder's gradient from the user term is the negative of plain (non-reversed) training."""
    from myoflow.losses import grl_loss
    from myoflow.models import build_model

    torch.manual_seed(0)
    model = build_model("mhcnn_grl", (8, 40), N_CLASSES, n_users=3).eval()  # no dropout: same pass twice
    x = torch.randn(12, 8, 40)
    labels = torch.randint(0, N_CLASSES, (12,))
    users = torch.arange(12) % 3

    def encoder_grad(reverse: bool) -> torch.Tensor:
        model.zero_grad()
        logits, emb = model.forward_with_embedding(x)
        if reverse:
            loss = grl_loss(logits, labels, emb, users, epoch=None, user_head=model.user_head) - \
                torch.nn.functional.cross_entropy(logits, labels)
        else:
            loss = torch.nn.functional.cross_entropy(model.user_head(emb), users)
        loss.backward()
        return model.heads[0][1].weight.grad.clone()

    reversed_grad, plain_grad = encoder_grad(True), encoder_grad(False)
    torch.testing.assert_close(reversed_grad, -plain_grad)


def test_grl_loss_with_a_model_without_user_head_is_a_config_error():
    X, y, users = _with_users(100, 4)
    est = TorchClassifier(model="mhcnn", loss="grl", max_epochs=1, threads=1)
    with pytest.raises(ValueError, match="user head.*mhcnn_grl"):
        est.fit(X, y, groups=users)
    with pytest.raises(ValueError, match="fit it with groups"):
        TorchClassifier(model="mhcnn_grl", loss="grl", max_epochs=1, threads=1).fit(X, y)


def test_trp_loss_trains_on_classes_x_users_x_samples_batches(monkeypatch):
    from myoflow import samplers

    X, y, users = _with_users(600, 5, n_users=4)
    seen = []
    original = samplers.TripletBatchSampler.batches

    def spy(self, epoch=None):
        out = original(self, epoch)
        seen.extend(out)
        return out

    monkeypatch.setattr(samplers.TripletBatchSampler, "batches", spy)
    est = TorchClassifier(model="mhcnn", loss="trp", max_epochs=1, batch_size=96, input_scale=1 / 128, threads=1,
                          patience=None, scheduler=None)
    est.fit(X, y, groups=users)
    assert seen, "the trp loss did not use the triplet sampler"
    for batch in seen:  # every (class, user) cell equally present: 4 classes x 4 users x 6
        cells = np.unique(np.stack([y[batch], users[batch]]), axis=1, return_counts=True)[1]
        assert len(cells) == N_CLASSES * 4 and set(cells) == {96 // (N_CLASSES * 4)}
    with pytest.raises(ValueError, match="groups"):
        TorchClassifier(model="mhcnn", loss="trp", max_epochs=1, threads=1).fit(X, y)


def test_balanced_class_weights_are_computed_from_the_training_labels_and_reach_the_loss(monkeypatch):
    import myoflow.torch_estimator as te

    X, y = _myo_like(300, 6)
    y = np.where(np.arange(300) < 200, 0, y)  # class 0 dominates
    captured = {}
    real = te.make_loss

    def spy(name, **params):
        fn = real(name, **params)

        def wrapped(*args, **kwargs):
            captured["class_weight"] = kwargs.get("class_weight")
            return fn(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(te, "make_loss", spy)
    TorchClassifier(model="mhcnn", loss="ce", class_weight="balanced", max_epochs=1, threads=1).fit(X, y)
    counts = np.bincount(y)
    expected = len(y) / (len(counts) * counts)
    np.testing.assert_allclose(captured["class_weight"].numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="class_weight"):
        TorchClassifier(model="mhcnn", class_weight="inverse", max_epochs=1, threads=1).fit(X, y)


def test_standardize_uses_training_statistics_only_and_survives_save_load(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    X = (rng.normal(0, 1, (300, 6)) + y[:, None]) * np.array([1e-4, 1, 1e3, 1e5, 1, 1])  # features of any scale
    X_val = X[:60] * 100.0  # wildly different validation data must not enter the statistics
    est = TorchClassifier(model="mlp", standardize=True, max_epochs=3, batch_size=64, threads=1)
    est.fit(X, y, X_val, y[:60])
    np.testing.assert_allclose(est.input_mean_, X.mean(0), rtol=1e-5)
    np.testing.assert_allclose(est.input_std_, X.std(0), rtol=1e-5)
    est.save(tmp_path / "m.model")
    again = TorchClassifier.load(tmp_path / "m.model")
    np.testing.assert_allclose(again.input_std_, est.input_std_)
    np.testing.assert_allclose(again.predict_proba(X[:20]), est.predict_proba(X[:20]), rtol=1e-5, atol=1e-6)
    # a standardised MLP learns this separable problem; the unscaled one is swamped by the 1e5 feature
    assert (est.predict(X) == y).mean() > 0.6


def _within_user_data(n_users=3, n_reps=4, per_rep=12, seed=0):
    """Windows of ``n_users`` users whose classes sit at user-specific offsets (a within-user model
    learns its user's offset), ``n_reps`` repetitions of every class."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows, X = [], []
    for s in range(n_users):
        centres = rng.normal(0, 3, (N_CLASSES, 6))
        for r in range(n_reps):
            for c in range(N_CLASSES):
                X.append(centres[c] + rng.normal(0, 1, (per_rep, 6)))
                rows += [{"subject": s, "session": 1, "repetition": r, "trial": r, "label": c, "start": i}
                         for i in range(per_rep)]
    meta = pd.DataFrame(rows)
    return np.concatenate(X), meta["label"].to_numpy(), meta


def test_one_pooled_within_user_job_equals_one_job_per_user(tmp_path):
    """PerSubjectEstimator on the pooled fold (every user in fold 0) gives each user's test rows
    exactly the probabilities of that user's own one-fold job, and survives save / load."""
    import logging

    from myoflow.estimators import (PerSubjectEstimator, build_estimator, fit_and_predict_fold, load_estimator,
                                    save_estimator)
    from myoflow.splits import within_user_split

    X, y, meta = _within_user_data()
    log = logging.getLogger("test")
    pooled = within_user_split([0, 1, 2], 4, 2, pooled=True)
    assert set(pooled["fold"]) == {0}
    est = PerSubjectEstimator("lda", {}, seed=0)
    table = fit_and_predict_fold(est, X, y, meta, pooled, 0, log)
    per_user = within_user_split([0, 1, 2], 4, 2)
    for fold in range(3):
        alone = fit_and_predict_fold(build_estimator("lda", {}, seed=0), X, y, meta, per_user, fold, log)
        mine = table[table["subject"] == fold].reset_index(drop=True)
        np.testing.assert_allclose(mine.filter(like="score_").to_numpy(), alone.filter(like="score_").to_numpy())
    assert (table["y_true"] == table["y_pred"]).mean() > 0.9  # each user's own offsets are learnt
    save_estimator(tmp_path / "within.model", est)
    again = load_estimator(tmp_path / "within.model")
    groups = meta["subject"].to_numpy()
    np.testing.assert_array_equal(again.predict_proba(X, groups=groups), est.predict_proba(X, groups=groups))
    with pytest.raises(ValueError, match=r"no model was fitted for subject\(s\) \[7\]"):
        est.predict(X[:2], groups=np.array([7, 7]))
    with pytest.raises(ValueError, match="needs the subject of every row"):
        est.predict(X[:2])


def test_per_subject_torch_members_fine_tune_from_saved_weights_and_round_trip(tmp_path):
    """Torch members start from ``init_from`` (fine-tuning from a cross-user model), a class a
    user never recorded gets probability 0, and the pooled model's torch members survive save/load."""
    from myoflow.estimators import PerSubjectEstimator, load_estimator, save_estimator

    X, y, meta = _within_user_data(n_users=2)
    X = X.astype(np.float32)
    groups = meta["subject"].to_numpy()
    params = {"model": "mlp", "max_epochs": 2, "batch_size": 32, "device": "cpu"}
    base = TorchClassifier(**params, seed=0).fit(X, y)
    base.save(tmp_path / "cross.model")
    tuned = PerSubjectEstimator("torch", {**params, "init_from": str(tmp_path / "cross.model"), "max_epochs": 1},
                                seed=0).fit(X, y, groups=groups)
    from myoflow.torch_estimator import state_digest

    for member in tuned.members_.values():  # every user's training began at the cross-user weights
        assert member.initial_digest_ == state_digest(base.model_)
    save_estimator(tmp_path / "tuned.model", tuned)
    again = load_estimator(tmp_path / "tuned.model")
    np.testing.assert_allclose(again.predict_proba(X, groups=groups), tuned.predict_proba(X, groups=groups),
                               rtol=1e-6)
    # user 1 never recorded class 3: its model has 3 classes, its probability of class 3 is 0
    keep = ~((groups == 1) & (y == 3))
    partial = PerSubjectEstimator("lda", {}, seed=0).fit(X[keep], y[keep], groups=groups[keep])
    assert partial.classes_.tolist() == [0, 1, 2, 3]
    proba = partial.predict_proba(X, groups=groups)
    assert np.all(proba[groups == 1, 3] == 0) and np.allclose(proba.sum(axis=1), 1)


def test_init_from_keeps_the_saved_models_input_standardisation(tmp_path):
    X, y, _ = _within_user_data(n_users=1)
    X = X.astype(np.float32)
    params = {"model": "mlp", "max_epochs": 1, "batch_size": 32, "device": "cpu", "standardize": True}
    base = TorchClassifier(**params, seed=0).fit(X, y)
    base.save(tmp_path / "base.model")
    some = np.arange(len(X)) % 6 == 0  # every class, a sixth of the rows
    tuned = TorchClassifier(**params, init_from=str(tmp_path / "base.model"), seed=0).fit(X[some] + 5, y[some])
    np.testing.assert_array_equal(tuned.input_mean_, base.input_mean_)
    np.testing.assert_array_equal(tuned.input_std_, base.input_std_)
    fresh = TorchClassifier(**params, seed=0).fit(X[some] + 5, y[some])
    assert not np.allclose(fresh.input_mean_, base.input_mean_)
