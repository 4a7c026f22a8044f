"""The cross-user study's training losses and the triplet batch sampler.

Each loss's value on a small hand-built batch is checked against an independent NumPy computation
of the source's formula, and its gradient against what the loss is for (one SGD step on the
embeddings or logits moves them the intended way).
"""

import math

import numpy as np
import pytest
import torch

from myoflow.losses import (
    CALL_ARGUMENTS,
    LOSSES,
    GradientReversal,
    batch_hard_triplet,
    grl_lambda,
    make_loss,
    triplet_weight,
)
from myoflow.samplers import TripletBatchSampler

# ---- the batch --------------------------------------------------------------------------------
# 12 windows, classes 0 (rest), 1, 2; users 0, 1, 2; embeddings in 4-d

RNG = np.random.default_rng(7)
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
USERS = np.array([0, 1, 2, 0, 0, 1, 2, 1, 0, 1, 2, 2])
# predictions chosen so that every reweighting case occurs: rest -> rest / active, active -> own / other active / rest
PRED = np.array([0, 0, 1, 2, 1, 1, 0, 2, 2, 2, 1, 0])
LOGITS = RNG.normal(size=(12, 3)) * 0.5 + 2.5 * np.eye(3)[PRED]
assert (LOGITS.argmax(axis=1) == PRED).all()
EMB = RNG.normal(size=(12, 4))


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _call(name, logits=LOGITS, emb=EMB, labels=LABELS, users=USERS, **params):
    fn = make_loss(name, **params)
    return fn(_t(logits), torch.as_tensor(labels), _t(emb), torch.as_tensor(users))


def np_ce(logits, labels):
    m = logits.max(axis=1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels]


def np_unit(z):
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def np_std(x):
    return math.sqrt(np.mean((x - np.mean(x)) ** 2))


def sgd_step(name, wrt="emb", lr=0.1, logits=LOGITS, emb=EMB, labels=LABELS, users=USERS, **params):
    """(loss before, loss after, new tensor) for one SGD step on ``wrt`` ('emb' or 'logits')."""
    fn = make_loss(name, **params)
    lg, em = _t(logits, wrt == "logits"), _t(emb, wrt == "emb")
    y, u = torch.as_tensor(labels), torch.as_tensor(users)
    loss = fn(lg, y, em, u)
    loss.backward()
    x = em if wrt == "emb" else lg
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    new = (x - lr * x.grad).detach()
    after = fn(new if wrt == "logits" else lg.detach(), y, new if wrt == "emb" else em.detach(), u)
    return loss.item(), after.item(), new.numpy()


# ---- registry -------------------------------------------------------------------------------------

SPEC_NAMES = {"base", "rest", "act", "cvar", "std", "sbj", "proto", "1va", "ang", "trp", "grl"}


def test_every_study_loss_is_registered_with_the_source_defaults():
    assert SPEC_NAMES | {"ce"} == set(LOSSES.names())
    assert LOSSES.get("base") is LOSSES.get("ce")
    p = lambda name: LOSSES.parameters(name, exclude=CALL_ARGUMENTS)  # noqa: E731
    assert p("rest")["alpha1"] == 1.0 and p("rest")["alpha2"] == 1.0
    assert p("act")["alpha1"] == 1.0 and p("act")["alpha2"] == 0.1
    assert p("cvar")["alpha"] == 0.3 and p("std")["alpha"] == 1.0 and p("sbj")["std_weight"] == 1.0
    assert p("proto")["lambda_proto"] == 0.5 and p("1va")["lambda_proto"] == 0.5
    assert p("ang")["temperature"] == 0.07
    assert {k: p("trp")[k] for k in ("margin", "alpha_start", "alpha_end", "warmup_epochs")} == {
        "margin": 0.5, "alpha_start": 0.01, "alpha_end": 0.25, "warmup_epochs": 25}
    assert p("grl")["grl_weight"] == 1.0 and p("grl")["ramp_epochs"] == 50
    assert "user_head" not in p("grl") and "epoch" not in p("trp")  # call arguments, never config


def test_losses_that_need_users_or_embeddings_say_so():
    lg, y = _t(LOGITS), torch.as_tensor(LABELS)
    with pytest.raises(ValueError, match="sbj.*users"):
        make_loss("sbj")(lg, y, _t(EMB), None)
    for name in ("proto", "1va", "ang", "trp", "grl"):
        with pytest.raises(ValueError, match=f"{name}.*embeddings"):
            make_loss(name)(lg, y, None, torch.as_tensor(USERS))
    with pytest.raises(ValueError, match="user_head"):
        make_loss("grl")(lg, y, _t(EMB), torch.as_tensor(USERS))


# ---- base, rest, act, cvar ------------------------------------------------------------------------


def test_base_is_mean_cross_entropy():
    assert _call("base").item() == pytest.approx(np_ce(LOGITS, LABELS).mean(), rel=1e-12)
    assert _call("ce", label_smoothing=0.1).item() != pytest.approx(_call("ce").item())


def _np_rest_weights(logits, labels, a1, a2):
    w = np.ones(len(labels))
    for i, (row, y) in enumerate(zip(logits, labels)):
        pred = int(np.argmax(row))
        if pred != y and pred != 0:
            w[i] *= 1 + a1
        if y == 0 and pred != 0:
            w[i] *= 1 + a2
    return w


def _np_act_weights(logits, labels, a1, a2):
    w = np.ones(len(labels))
    for i, (row, y) in enumerate(zip(logits, labels)):
        pred = int(np.argmax(row))
        if y != 0 or pred != 0:
            w[i] *= 1 + a1
        if y == 0:
            w[i] *= 1 + a2
    return w


@pytest.mark.parametrize("name, weights", [("rest", _np_rest_weights), ("act", _np_act_weights)])
def test_reweighted_ce_values_and_per_sample_gradients(name, weights):
    a1, a2 = 0.7, 0.3
    w = weights(LOGITS, LABELS, a1, a2)
    assert len(set(w.round(6))) >= 3  # the batch exercises several weight cases
    ce = np_ce(LOGITS, LABELS)
    assert _call(name, alpha1=a1, alpha2=a2).item() == pytest.approx((w * ce).mean(), rel=1e-12)
    # each sample's gradient is its weight times its plain CE gradient: the weights steer the learning
    lg = _t(LOGITS, True)
    make_loss(name, alpha1=a1, alpha2=a2)(lg, torch.as_tensor(LABELS)).backward()
    lg0 = _t(LOGITS, True)
    torch.nn.functional.cross_entropy(lg0, torch.as_tensor(LABELS)).backward()
    np.testing.assert_allclose(lg.grad.numpy(), w[:, None] * lg0.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_rest_punishes_false_activations_most():
    # rest predicted active (false activation) > active confused with another active > active predicted rest
    logits = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
    labels = np.array([0, 1, 1])
    w = _np_rest_weights(logits, labels, 1.0, 1.0)
    assert w.tolist() == [4.0, 2.0, 1.0]
    assert _call("rest", logits=logits, labels=labels, emb=EMB[:3], users=USERS[:3]).item() == pytest.approx(
        (w * np_ce(logits, labels)).mean())


def test_cvar_takes_the_hardest_floor_share_like_the_source():
    ce = np_ce(LOGITS, LABELS)
    top = np.sort(ce)[::-1]
    assert _call("cvar").item() == pytest.approx(top[:3].mean(), rel=1e-12)  # int(0.3 * 12) = 3
    assert _call("cvar", rounding="ceil").item() == pytest.approx(top[:4].mean(), rel=1e-12)  # ceil(3.6) = 4
    assert _call("cvar", alpha=0.01).item() == pytest.approx(top[0])  # at least one sample
    lg = _t(LOGITS, True)
    make_loss("cvar")(lg, torch.as_tensor(LABELS)).backward()
    hard = np.argsort(ce)[::-1][:3]
    has_grad = lg.grad.abs().sum(dim=1).numpy() > 0
    assert set(np.flatnonzero(has_grad)) == set(hard)  # only the hardest share learns


# ---- std, sbj ---------------------------------------------------------------------------------------


def test_std_value_and_step_reduces_the_spread():
    ce = np_ce(LOGITS, LABELS)
    balanced = np.mean([ce[LABELS == c].mean() for c in (0, 1, 2)])
    assert _call("std").item() == pytest.approx(balanced + np_std(ce), rel=1e-12)
    assert _call("std", alpha=0.0).item() == pytest.approx(balanced, rel=1e-12)
    # the std term pulls the per-sample losses together more than plain CE does
    _, _, new_std = sgd_step("std", wrt="logits", lr=0.5, alpha=3.0)
    _, _, new_ce = sgd_step("ce", wrt="logits", lr=0.5)
    assert np_std(np_ce(new_std, LABELS)) < np_std(np_ce(new_ce, LABELS)) < np_std(ce) * 1.5


def test_std_has_finite_gradient_when_every_loss_is_equal():
    lg = torch.zeros(6, 3, requires_grad=True)
    loss = make_loss("std")(lg, torch.tensor([0, 1, 2, 0, 1, 2]))
    loss.backward()
    assert loss.item() == pytest.approx(math.log(3)) and torch.isfinite(lg.grad).all()


def test_sbj_value_and_step_equalises_users():
    ce = np_ce(LOGITS, LABELS)
    per_user = np.array([ce[USERS == u].mean() for u in (0, 1, 2)])
    assert _call("sbj").item() == pytest.approx(per_user.mean() + np_std(per_user), rel=1e-12)
    assert _call("sbj", std_weight=0.0).item() == pytest.approx(per_user.mean(), rel=1e-12)
    # relabelled user ids (any integers) give the same value
    assert _call("sbj", users=USERS * 10 + 5).item() == pytest.approx(_call("sbj").item())
    _, _, new_sbj = sgd_step("sbj", wrt="logits", lr=0.5, std_weight=3.0)
    _, _, new_ce = sgd_step("ce", wrt="logits", lr=0.5)
    spread = lambda lg: np_std([np_ce(lg, LABELS)[USERS == u].mean() for u in (0, 1, 2)])  # noqa: E731
    assert spread(new_sbj) < spread(new_ce)


# ---- proto, 1va, ang --------------------------------------------------------------------------------


def _np_compactness(z, labels):
    terms = []
    for c in np.unique(labels):
        zc = z[labels == c]
        if len(zc) > 1:
            terms.append(((zc - zc.mean(axis=0)) ** 2).sum(axis=1).mean())
    return np.mean(terms) if terms else 0.0


def test_proto_value_and_step_compacts_the_classes():
    z = np_unit(EMB)
    ce = np_ce(LOGITS, LABELS).mean()
    assert _call("proto").item() == pytest.approx(0.5 * ce + 0.5 * _np_compactness(z, LABELS), rel=1e-12)
    assert _call("proto", normalize=False, lambda_proto=0.2).item() == pytest.approx(
        0.8 * ce + 0.2 * _np_compactness(EMB, LABELS), rel=1e-12)
    # a lone sample of a class does not count in the class average
    single = np.array([0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2])
    assert _call("proto", labels=single, lambda_proto=1.0).item() == pytest.approx(_np_compactness(z, single), rel=1e-12)
    before, after, new = sgd_step("proto", wrt="emb", lr=0.5, lambda_proto=1.0)
    assert after < before and _np_compactness(np_unit(new), LABELS) < _np_compactness(z, LABELS)


def _np_ova_term(z, labels):
    classes = np.unique(labels)
    mus = np.stack([z[labels == c].mean(axis=0) for c in classes])
    d = ((z[:, None, :] - mus[None]) ** 2).sum(axis=2)
    target = np.searchsorted(classes, labels)
    return np_ce(-d, target).mean(), d, target


def test_1va_value_and_step_separates_own_from_other_prototypes():
    z = np_unit(EMB)
    term, d, target = _np_ova_term(z, LABELS)
    assert _call("1va").item() == pytest.approx(0.5 * np_ce(LOGITS, LABELS).mean() + 0.5 * term, rel=1e-12)
    # one class in the batch: compactness instead
    one = np.zeros(12, dtype=int)
    assert _call("1va", labels=one, lambda_proto=1.0).item() == pytest.approx(_np_compactness(z, one), rel=1e-12)

    def margin(zz):
        _, dd, tt = _np_ova_term(np_unit(zz), LABELS)
        own = dd[np.arange(12), tt]
        other = (dd.sum(axis=1) - own) / (dd.shape[1] - 1)
        return float((other - own).mean())

    before, after, new = sgd_step("1va", wrt="emb", lr=0.5, lambda_proto=1.0)
    assert after < before and margin(new) > margin(EMB)


def _np_supcon(z, labels, tau):
    n = len(labels)
    sim = z @ z.T / tau
    sim = sim - sim.max(axis=1, keepdims=True)
    out = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        denom = np.exp(sim[i, others]).sum() + 1e-8
        pos = [j for j in others if labels[j] == labels[i]]
        out.append(-np.sum([sim[i, p] - np.log(denom) for p in pos]) / max(1, len(pos)))
    return float(np.mean(out))


def _np_angle(z, labels):
    mus = {c: z[labels == c].mean(axis=0) for c in np.unique(labels)}
    dirs = np_unit(np.stack([mus[c] - mus[0] for c in sorted(mus) if c != 0]))
    cos = dirs @ dirs.T
    return float(cos[np.triu_indices(len(dirs), 1)].mean())


def test_ang_value_against_supcon_and_angle_by_hand():
    z = np_unit(EMB)
    ce = np_ce(LOGITS, LABELS).mean()
    expected = ce + _np_supcon(z, LABELS, 0.07) + _np_angle(z, LABELS)
    assert _call("ang").item() == pytest.approx(expected, rel=1e-10)
    assert _call("ang", w_ce=0.0, w_supcon=0.0).item() == pytest.approx(_np_angle(z, LABELS), rel=1e-10)
    assert _call("ang", w_ce=0.0, w_angle=0.0, temperature=0.5).item() == pytest.approx(_np_supcon(z, LABELS, 0.5), rel=1e-10)
    # no rest in the batch, or a single active class: no angular term
    no_rest = np.where(LABELS == 0, 1, LABELS)
    assert _call("ang", labels=no_rest, w_ce=0.0, w_supcon=0.0).item() == 0.0


def test_ang_steps_spread_the_gestures_and_pull_classes_together():
    before, after, new = sgd_step("ang", wrt="emb", lr=0.2, w_ce=0.0, w_supcon=0.0)
    assert after < before and _np_angle(np_unit(new), LABELS) < _np_angle(np_unit(EMB), LABELS)

    def same_minus_other(zz):
        s = np_unit(zz) @ np_unit(zz).T
        same = (LABELS[:, None] == LABELS[None]) & ~np.eye(12, dtype=bool)
        return s[same].mean() - s[LABELS[:, None] != LABELS[None]].mean()

    before, after, new = sgd_step("ang", wrt="emb", lr=0.05, w_ce=0.0, w_angle=0.0)
    assert after < before and same_minus_other(new) > same_minus_other(EMB)


# ---- trp ------------------------------------------------------------------------------------------


def _np_batch_hard(z, labels, users, margin, soft=False):
    z = np_unit(z)
    d = 1 - z @ z.T
    terms = []
    for a in range(len(labels)):
        if soft:
            pos = [j for j in range(len(labels)) if j != a and labels[j] == labels[a] and users[j] == users[a]]
            neg = [j for j in range(len(labels)) if labels[j] != labels[a] and users[j] != users[a]]
        else:
            pos = [j for j in range(len(labels)) if labels[j] == labels[a] and users[j] != users[a]]
            neg = [j for j in range(len(labels)) if labels[j] != labels[a] and users[j] == users[a]]
        if pos and neg:
            terms.append(max(0.0, max(d[a, pos]) - min(d[a, neg]) + margin))
    return float(np.mean(terms)) if terms else 0.0


def test_batch_hard_triplet_against_brute_force():
    e, y, u = _t(EMB), torch.as_tensor(LABELS), torch.as_tensor(USERS)
    hard = _np_batch_hard(EMB, LABELS, USERS, 0.5)
    soft = _np_batch_hard(EMB, LABELS, USERS, 0.5, soft=True)
    assert 0 < hard and 0 < soft
    assert batch_hard_triplet(e, y, u).item() == pytest.approx(hard, rel=1e-12)
    assert batch_hard_triplet(e, y, u, margin=0.2).item() == pytest.approx(_np_batch_hard(EMB, LABELS, USERS, 0.2), rel=1e-12)
    assert batch_hard_triplet(e, y, u, w_hard=1.0, w_soft=3.0).item() == pytest.approx((hard + 3 * soft) / 4, rel=1e-12)
    # one user only: no cross-user positive, so no hard triplet at all
    assert batch_hard_triplet(e, y, torch.zeros(12, dtype=torch.long)).item() == 0.0


def test_triplet_weight_ramp():
    assert triplet_weight(0) == pytest.approx(0.01) and triplet_weight(25) == pytest.approx(0.25)
    assert triplet_weight(100) == pytest.approx(0.25) and triplet_weight(None) == pytest.approx(0.25)
    ramp = [triplet_weight(e) for e in range(26)]
    assert all(b > a for a, b in zip(ramp, ramp[1:]))
    s = lambda t: 1 / (1 + math.exp(-10 * (t - 0.65)))  # noqa: E731
    assert triplet_weight(10) == pytest.approx(0.01 + 0.24 * (s(0.4) - s(0)) / (s(1) - s(0)))
    assert triplet_weight(10) < triplet_weight(10, ramp="linear") == pytest.approx(0.01 + 0.24 * 0.4)


def test_trp_blends_ce_and_triplet_with_the_ramp():
    ce = np_ce(LOGITS, LABELS).mean()
    tri = _np_batch_hard(EMB, LABELS, USERS, 0.5)
    fn = make_loss("trp")
    args = (_t(LOGITS), torch.as_tensor(LABELS), _t(EMB), torch.as_tensor(USERS))
    for epoch in (0, 12, 25, 40):
        a = triplet_weight(epoch)
        assert fn(*args, epoch=epoch).item() == pytest.approx((1 - a) * ce + a * tri, rel=1e-12)


def test_trp_step_pulls_cross_user_positives_in_and_pushes_same_user_negatives_out():
    params = dict(alpha_start=1.0, alpha_end=1.0)  # triplet term only
    before, after, new = sgd_step("trp", wrt="emb", lr=0.2, **params)
    assert after < before
    assert _np_batch_hard(new, LABELS, USERS, 0.5) < _np_batch_hard(EMB, LABELS, USERS, 0.5)
    z0, z1 = np_unit(EMB), np_unit(new)
    pos = (LABELS[:, None] == LABELS[None]) & (USERS[:, None] != USERS[None])
    neg = (LABELS[:, None] != LABELS[None]) & (USERS[:, None] == USERS[None])
    s0, s1 = z0 @ z0.T, z1 @ z1.T
    assert s1[pos].mean() > s0[pos].mean() and s1[neg].mean() < s0[neg].mean()


# ---- grl ------------------------------------------------------------------------------------------


def _head(n_users=3, dim=4, seed=3):
    head = torch.nn.Linear(dim, n_users, dtype=torch.float64)
    g = np.random.default_rng(seed)
    with torch.no_grad():
        head.weight.copy_(_t(g.normal(size=(n_users, dim))))
        head.bias.copy_(_t(g.normal(size=n_users)))
    return head


def test_gradient_reversal_and_its_ramp():
    x = _t([1.0, -2.0, 3.0], True)
    y = GradientReversal.apply(x, 0.3)
    assert torch.equal(y, x)
    (y * _t([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-0.3, -0.6, -0.9])
    assert [grl_lambda(e) for e in (0, 25, 50, 80)] == [0.0, 0.5, 1.0, 1.0]
    assert grl_lambda(None) == 1.0 and grl_lambda(10, ramp_epochs=20) == 0.5
    assert grl_lambda(2 + 3 / 4) == pytest.approx(2.75 / 50)  # a fractional epoch: the source's per-step ramp


def test_grl_value_is_ce_plus_user_ce():
    head = _head()
    W, b = head.weight.detach().numpy(), head.bias.detach().numpy()
    expected = np_ce(LOGITS, LABELS).mean() + 0.7 * np_ce(EMB @ W.T + b, USERS).mean()
    fn = make_loss("grl", grl_weight=0.7)
    got = fn(_t(LOGITS), torch.as_tensor(LABELS), _t(EMB), torch.as_tensor(USERS), epoch=10, user_head=head)
    assert got.item() == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="user codes"):
        fn(_t(LOGITS), torch.as_tensor(LABELS), _t(EMB), torch.as_tensor(USERS + 5), user_head=head)


def test_grl_head_learns_users_while_the_embedding_unlearns_them():
    head = _head()
    fn = make_loss("grl", grl_weight=1.0)
    y, u = torch.as_tensor(LABELS), torch.as_tensor(USERS)

    def user_ce(emb, hd):
        with torch.no_grad():
            return torch.nn.functional.cross_entropy(hd(_t(emb)), u).item()

    emb = _t(EMB, True)
    fn(_t(LOGITS), y, emb, u, epoch=25, user_head=head).backward()
    # the embedding's gradient is -lambda times that of plain user CE: the user-discriminative direction is pushed away
    emb_plain = _t(EMB, True)
    torch.nn.functional.cross_entropy(_head()(emb_plain), u).backward()
    np.testing.assert_allclose(emb.grad.numpy(), -0.5 * emb_plain.grad.numpy(), rtol=1e-10, atol=1e-14)
    new_emb = (emb - 0.5 * emb.grad).detach().numpy()
    assert user_ce(new_emb, head) > user_ce(EMB, head)
    # the head's own gradient is not reversed: a step on it tells the users apart better
    with torch.no_grad():
        for p in head.parameters():
            p -= 0.5 * p.grad
    assert user_ce(EMB, head) < user_ce(EMB, _head())
    # at epoch 0 the reversal is off: the user term sends nothing to the embedding
    emb0 = _t(EMB, True)
    fn(_t(LOGITS), y, emb0, u, epoch=0, user_head=_head()).backward()
    assert emb0.grad.abs().max().item() == 0.0


# ---- the triplet sampler ----------------------------------------------------------------------------


def _population(n_users=7, n_classes=4, seed=0, missing=()):
    """Labels and users with 5..14 windows per (class, user) cell; ``missing`` (class, user) cells empty."""
    g = np.random.default_rng(seed)
    labels, users = [], []
    for u in range(n_users):
        for c in range(n_classes):
            if (c, u) in missing:
                continue
            k = int(g.integers(5, 15))
            labels += [c] * k
            users += [100 + u] * k
    perm = g.permutation(len(labels))
    return np.array(labels)[perm], np.array(users)[perm]


def test_every_batch_is_classes_by_users_by_samples():
    labels, users = _population()
    s = TripletBatchSampler(labels, users, n_users=3, n_samples=4, seed=1)
    assert s.batch_size == 4 * 3 * 4 and len(s) == len(labels) // 48
    for epoch in range(3):
        s.set_epoch(epoch)
        batches = list(s)
        assert len(batches) == len(s)
        for b in batches:
            b = np.asarray(b)
            assert len(b) == 48 and len(set(b.tolist())) == 48 and b.min() >= 0 and b.max() < len(labels)
            chosen = np.unique(users[b])
            assert len(chosen) == 3
            for u in chosen:
                for c in range(4):
                    assert np.sum((users[b] == u) & (labels[b] == c)) == 4
            # so every anchor has a cross-user positive and a same-user negative for the trp loss
            e = torch.randn(48, 5, dtype=torch.float64)
            y, uu = torch.as_tensor(labels[b]), torch.as_tensor(users[b])
            same_c, same_u = y[:, None] == y[None], uu[:, None] == uu[None]
            assert (same_c & ~same_u).any(1).all() and (~same_c & same_u).any(1).all()
            assert torch.isfinite(batch_hard_triplet(e, y, uu))


def test_sampler_is_seeded_and_deterministic():
    labels, users = _population()
    a = TripletBatchSampler(labels, users, n_users=3, n_samples=4, seed=5)
    b = TripletBatchSampler(labels, users, n_users=3, n_samples=4, seed=5)
    c = TripletBatchSampler(labels, users, n_users=3, n_samples=4, seed=6)
    same = lambda x, y: all(np.array_equal(p, q) for p, q in zip(x, y))  # noqa: E731
    assert same(a.batches(2), b.batches(2)) and same(a.batches(2), a.batches(2))
    assert not same(a.batches(2), a.batches(3)) and not same(a.batches(2), c.batches(2))
    b.set_epoch(2)
    assert same([np.array(x) for x in b], a.batches(2))
    # users are drawn without replacement within a pass over them (7 users: two batches of 3, then a reshuffle)
    first, second = a.batches(0)[:2]
    assert not set(users[first]) & set(users[second])
    # and reshuffled for each new pass, so the user groups vary over the epoch
    many = TripletBatchSampler(labels, users, n_users=3, n_samples=2, n_batches=10, seed=5).batches(0)
    assert len({tuple(np.unique(users[x])) for x in many}) > 2


def test_sampler_derives_samples_from_batch_size_and_skips_incomplete_users():
    labels, users = _population(missing={(2, 4)})
    s = TripletBatchSampler(labels, users, batch_size=120)
    assert s.n_users == 6 and 104 not in s.users_  # user 104 has no class-2 window
    assert s.n_samples == max(3, 120 // (4 * 6)) == 5 and s.batch_size == 120
    assert TripletBatchSampler(labels, users, batch_size=30).n_samples == 3  # the source's floor of 3
    for b in s.batches(0):
        assert 104 not in users[b]
    with pytest.raises(ValueError, match="only 6 users"):
        TripletBatchSampler(labels, users, n_users=7)
    with pytest.raises(ValueError, match="at least 2"):
        TripletBatchSampler(labels, users, n_users=1)


def test_small_cells_are_padded_and_sequential_order_follows_the_source():
    labels, users = _population()
    s = TripletBatchSampler(labels, users, n_users=2, n_samples=20, n_batches=2)  # cells hold 5..14 windows
    for b in s.batches(0):
        assert len(b) == 4 * 2 * 20
        for u in np.unique(users[b]):
            assert all(np.sum((users[b] == u) & (labels[b] == c)) == 20 for c in range(4))
    seq = TripletBatchSampler(labels, users, n_users=7, n_samples=2, n_batches=2, cell_order="sequential")
    first, second = seq.batches(0)
    for c in range(4):
        for u in range(7):
            cell = np.flatnonzero((labels == c) & (users == 100 + u))
            got1 = np.sort(first[(labels[first] == c) & (users[first] == 100 + u)])
            got2 = np.sort(second[(labels[second] == c) & (users[second] == 100 + u)])
            assert got1.tolist() == cell[:2].tolist() and got2.tolist() == cell[2:4].tolist()


def test_grl_without_a_user_head_is_refused_by_the_estimator():
    from myoflow.errors import ConfigError
    from myoflow.torch_estimator import TorchClassifier

    X = np.random.default_rng(0).standard_normal((20, 8, 40)).astype(np.float32)
    with pytest.raises(ConfigError, match="'grl' needs a model with a user head"):
        TorchClassifier(model="mhcnn", loss="grl", max_epochs=1, device="cpu").fit(X, np.arange(20) % 2)


def test_class_weights_reweight_every_loss_as_the_source_weighted_ce():
    """With class weights, ``ce`` is PyTorch's weighted mean (sum w_y CE / sum w_y) and every
    loss takes them (the estimator passes them to any loss); uniform weights change nothing."""
    import torch.nn.functional as F

    from myoflow.losses import LOSSES, make_loss

    torch.manual_seed(0)
    logits, labels = torch.randn(16, 5), torch.randint(0, 5, (16,))
    emb, users = torch.randn(16, 8), torch.arange(16) % 4
    w = torch.tensor([0.2, 1.0, 2.0, 3.0, 0.5])
    per = F.cross_entropy(logits, labels, reduction="none")
    expected = (per * w[labels]).sum() / w[labels].sum()
    torch.testing.assert_close(make_loss("ce")(logits, labels, class_weight=w), expected)
    head = torch.nn.Linear(8, 4)
    for name in LOSSES.names():
        fn = make_loss(name)
        extra = {"user_head": head} if name == "grl" else {}
        plain = fn(logits, labels, emb, users, **extra)
        uniform = fn(logits, labels, emb, users, class_weight=torch.ones(5), **extra)
        torch.testing.assert_close(plain, uniform, msg=f"{name}: uniform weights changed the loss")
        weighted = fn(logits, labels, emb, users, class_weight=w, **extra)
        assert not torch.isclose(weighted, plain), f"{name}: class weights had no effect"
