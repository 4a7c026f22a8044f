"""Training losses of the cross-user study, by name.

Each loss is a function ``loss(logits, labels, embeddings, users, *, <keyword-only params>) ->
scalar tensor`` registered on :data:`LOSSES`; its keyword-only parameters are config values,
checked by :func:`make_loss`. ``users`` are integer user codes of the batch (None when the
estimator was fitted without ``groups``). A loss that declares a keyword-only ``epoch`` receives
the current 0-based epoch from :class:`~myoflow.torch_estimator.TorchClassifier` (for weight
ramps); a loss that declares ``user_head`` receives the model's user-classification head (``grl``);
``class_weight`` is a per-class weight tensor (indexed by class index) or None, from the
estimator's ``class_weight="balanced"`` (the source passed ``compute_class_weight("balanced")``
weights to the CE of its LSTM, MLP and per-subject models), multiplying each sample's CE.
Add one with ``@LOSSES.register("name")``.

The losses follow the study's source code (A. Hariri, "EPN612_Cross_User", ``models.py`` loss
classes and ``utils.py`` training loops); each docstring names its source and any deliberate
difference, which is then available as a parameter. ``rest_label`` is the class *index* of rest
(the estimator encodes labels as indices into the sorted training classes; EPN-612 rest is 0).

=========  ==========================================================================  ==============
name       loss                                                                        source
=========  ==========================================================================  ==============
base, ce   mean cross-entropy                                                          BaseLoss
rest       CE, heavier on errors that predict an active class                          RestLoss
act        CE, heavier on active samples and on active predictions                     ActiveLoss
cvar       mean CE of the hardest ``alpha`` share of the batch                         CVaRLoss
std        class-balanced CE + std of per-sample CE                                    STDLoss
sbj        mean + std of per-user CE                                                   PerSubjectLoss
proto      CE blended with compactness to class means (normalised embeddings)          PrototypeLoss
1va        CE blended with prototype CE over negative squared distances                OneVsAllLoss
ang        CE + supervised contrastive (tau 0.07) + angular spread of class directions  AngularLoss
trp        CE blended with batch-hard cross-user triplet loss, weight ramped           TripletLoss
grl        CE + user CE through a gradient-reversal layer, strength ramped 0 -> 1      train_grl
=========  ==========================================================================  ==============
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from .registry import Registry

__all__ = [
    "LOSSES",
    "LossFn",
    "PER_STEP_RAMP",
    "make_loss",
    "ce_loss",
    "rest_loss",
    "act_loss",
    "cvar_loss",
    "std_loss",
    "sbj_loss",
    "proto_loss",
    "ova_loss",
    "ang_loss",
    "trp_loss",
    "grl_loss",
    "batch_hard_triplet",
    "triplet_weight",
    "GradientReversal",
    "grad_reverse",
    "grl_lambda",
]

LossFn = Callable[..., torch.Tensor]

#: name -> loss function ``(logits, labels, embeddings, users, *, params) -> scalar``.
LOSSES: Registry[LossFn] = Registry("loss")

#: what the estimator passes on every call: never config values
CALL_ARGUMENTS = frozenset({"logits", "labels", "embeddings", "users", "epoch", "user_head", "class_weight"})

#: losses whose ``epoch`` is fractional (epoch + batch / batches): the source ramps them per step
PER_STEP_RAMP = frozenset({"grl"})


def make_loss(name: str, **params: Any) -> LossFn:
    """Return the registered loss ``name`` with its keyword parameters bound.

    Parameters
    ----------
    name : str
        A name registered on ``LOSSES``.
    **params
        Values for the loss's keyword-only parameters (e.g. ``label_smoothing``, ``alpha``).

    Returns
    -------
    callable
        ``loss(logits, labels, embeddings=None, users=None[, epoch=...][, user_head=...]) -> scalar tensor``.

    Raises
    ------
    ValueError (:class:`myoflow.errors.ConfigError`)
        Unknown loss or parameter; the message lists the known ones.
    """
    fn = LOSSES.get(name)
    LOSSES.check_params(name, params, exclude=CALL_ARGUMENTS)
    bound = functools.partial(fn, **params)
    functools.update_wrapper(bound, fn)
    return bound


# ---- helpers -----------------------------------------------------------------------------------


def _per_sample_ce(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float,
                   class_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample CE, each multiplied by its class's weight when ``class_weight`` is given."""
    return F.cross_entropy(logits, labels, weight=class_weight, reduction="none", label_smoothing=label_smoothing)


def _ce(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float,
        class_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean CE; with ``class_weight`` PyTorch's weighted mean ``sum w_y CE / sum w_y`` (the source's
    ``nn.CrossEntropyLoss(weight=weights)``)."""
    return F.cross_entropy(logits, labels, weight=class_weight, label_smoothing=label_smoothing)


def _population_std(x: torch.Tensor) -> torch.Tensor:
    """Population standard deviation (``unbiased=False``, as the source) with a zero gradient at zero spread.

    ``torch.std`` back-propagates 0/0 = NaN when every value is equal (one user in the batch,
    identical losses); the value here is the same, the gradient at zero spread is 0.
    """
    var = x.var(unbiased=False)
    positive = var > 0
    return torch.where(positive, torch.where(positive, var, torch.ones_like(var)).sqrt(), torch.zeros_like(var))


def _need(value: torch.Tensor | None, what: str, loss: str, why: str) -> torch.Tensor:
    if value is None:
        raise ValueError(f"loss {loss!r} needs {what}: {why}")
    return value


_NEED_EMB = "the model must return embeddings (forward_with_embedding)"
_NEED_USERS = "fit the estimator with groups (user ids)"


def _group_means(values: torch.Tensor, groups: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean of ``values`` (n,) or (n, d) per distinct group -> (means, counts, inverse codes)."""
    _, inverse, counts = torch.unique(groups, return_inverse=True, return_counts=True)
    shape = (len(counts),) + tuple(values.shape[1:])
    sums = torch.zeros(shape, dtype=values.dtype, device=values.device).index_add(0, inverse, values)
    c = counts.to(values.dtype).reshape((-1,) + (1,) * (values.dim() - 1))
    return sums / c, counts, inverse


def _compactness(z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over classes with more than one sample of the mean squared distance to the class mean (0 if none)."""
    means, counts, inverse = _group_means(z, labels)
    sq = ((z - means[inverse]) ** 2).sum(dim=1)
    per_class, _, _ = _group_means(sq, labels)
    keep = counts > 1  # a lone sample is its own mean; the source skips such classes in the average
    if not bool(keep.any()):
        return z.sum() * 0.0  # zero that still carries a graph
    return per_class[keep].mean()


# ---- base ------------------------------------------------------------------------------------


@LOSSES.register("ce")
def ce_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Base cross-entropy, mean over the batch (embeddings and users unused); ``base`` is its study name.

    Source: ``models.py`` ``BaseLoss`` (``nn.CrossEntropyLoss(weight=None)``).
    """
    return _ce(logits, labels, label_smoothing, class_weight)


# the study calls it "base"; the same function under both names, so configs may use either
LOSSES.register("base", ce_loss)


# ---- per-sample reweighting --------------------------------------------------------------------


@LOSSES.register("rest")
def rest_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    alpha1: float = 1.0,
    alpha2: float = 1.0,
    rest_label: int = 0,
) -> torch.Tensor:
    """Cross-entropy with extra weight on errors that predict an active class.

    ``mean_i w_i CE_i`` with ``w_i = (1 + alpha1 [pred_i != y_i and pred_i != rest])
    * (1 + alpha2 [y_i == rest and pred_i != rest])``, ``pred = argmax(logits)`` (the weights carry
    no gradient). A rest window predicted active (a false activation) weighs
    ``(1 + alpha1)(1 + alpha2)``.

    Source: ``models.py`` ``RestLoss`` (latest defaults ``alpha1=1.0, alpha2=1.0``; earlier
    versions defaulted to 0.25 / 0.5 but the scripts passed 1.0 / 1.0).
    """
    per = _per_sample_ce(logits, labels, label_smoothing, class_weight)
    pred = logits.detach().argmax(dim=1)
    wrong_active = (pred != labels) & (pred != rest_label)
    false_activation = (labels == rest_label) & (pred != rest_label)
    w = (1.0 + alpha1 * wrong_active.to(per.dtype)) * (1.0 + alpha2 * false_activation.to(per.dtype))
    return (per * w).mean()


@LOSSES.register("act")
def act_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    alpha1: float = 1.0,
    alpha2: float = 0.1,
    rest_label: int = 0,
) -> torch.Tensor:
    """Cross-entropy weighted towards active samples.

    ``mean_i w_i CE_i`` with ``w_i = (1 + alpha1 [y_i != rest or pred_i != rest]) * (1 + alpha2 [y_i == rest])``:
    active windows weigh ``1 + alpha1``, rest windows predicted rest ``1 + alpha2``, rest windows
    predicted active ``(1 + alpha1)(1 + alpha2)``.

    Source: ``models.py`` ``ActiveLoss`` (defaults ``alpha1=1.0, alpha2=0.1``).
    """
    per = _per_sample_ce(logits, labels, label_smoothing, class_weight)
    pred = logits.detach().argmax(dim=1)
    involved = (labels != rest_label) | (pred != rest_label)
    is_rest = labels == rest_label
    w = (1.0 + alpha1 * involved.to(per.dtype)) * (1.0 + alpha2 * is_rest.to(per.dtype))
    return (per * w).mean()


@LOSSES.register("cvar")
def cvar_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    alpha: float = 0.3,
    rounding: str = "floor",
) -> torch.Tensor:
    """Conditional value at risk: mean cross-entropy of the hardest ``alpha`` share of the batch.

    The ``k`` samples (at least one) with the largest per-sample loss count, ``k = floor(alpha *
    batch)`` as in the source (``int(alpha * batch)``); ``rounding="ceil"`` takes ``ceil`` instead
    (this module's earlier behaviour).

    Source: ``models.py`` ``CVaRLoss`` (``alpha=0.3``).
    """
    if not 0 < alpha <= 1:
        raise ValueError(f"cvar alpha must be in (0, 1], got {alpha}")
    if rounding not in ("floor", "ceil"):
        raise ValueError(f"cvar rounding must be 'floor' or 'ceil', got {rounding!r}")
    per_sample = _per_sample_ce(logits, labels, label_smoothing, class_weight)
    share = alpha * per_sample.numel()
    k = max(1, math.ceil(share) if rounding == "ceil" else int(share))
    return per_sample.topk(k).values.mean()


# ---- spread of the loss ------------------------------------------------------------------------


@LOSSES.register("std")
def std_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    alpha: float = 1.0,
) -> torch.Tensor:
    """Class-balanced cross-entropy plus the spread of the per-sample cross-entropy.

    ``mean_c (mean_{i: y_i = c} CE_i) + alpha * std_i(CE_i)`` over the classes present in the batch,
    population standard deviation.

    Source: ``models.py`` ``STDLoss`` with ``_balanced_mean`` (``alpha=1.0``).
    """
    per = _per_sample_ce(logits, labels, label_smoothing, class_weight)
    class_means, _, _ = _group_means(per, labels)
    return class_means.mean() + alpha * _population_std(per)


@LOSSES.register("sbj")
def sbj_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    std_weight: float = 1.0,
) -> torch.Tensor:
    """Mean plus standard deviation of the per-user cross-entropy.

    ``mean_u L_u + std_weight * std_u(L_u)``, ``L_u`` the mean CE of user ``u``'s samples in the
    batch (population std over the users present): users the model serves worse pull harder.

    Source: ``models.py`` ``PerSubjectLoss`` (latest version: ``per_user.mean() +
    per_user.std(unbiased=False)``, i.e. ``std_weight=1.0``; an earlier version returned the mean only,
    ``std_weight=0``).
    """
    users = _need(users, "users", "sbj", _NEED_USERS)
    per = _per_sample_ce(logits, labels, label_smoothing, class_weight)
    per_user, _, _ = _group_means(per, users)
    return per_user.mean() + std_weight * _population_std(per_user)


# ---- embedding geometry ------------------------------------------------------------------------


@LOSSES.register("proto")
def proto_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    lambda_proto: float = 0.5,
    normalize: bool = True,
) -> torch.Tensor:
    """Cross-entropy blended with the compactness of each class around its batch mean.

    ``(1 - lambda_proto) CE + lambda_proto * mean_c mean_{i in c} ||z_i - mu_c||^2`` with ``z`` the
    L2-normalised embeddings (``normalize``) and ``mu_c`` the batch mean of class ``c``; classes with
    a single sample in the batch are left out of the class average.

    Source: ``models.py`` ``PrototypeLoss`` (``lambda_proto=0.5, normalize=True``). The spec's
    "CE + compactness" is this blend.
    """
    emb = _need(embeddings, "embeddings", "proto", _NEED_EMB)
    z = F.normalize(emb, dim=1) if normalize else emb
    ce = _ce(logits, labels, label_smoothing, class_weight)
    return (1.0 - lambda_proto) * ce + lambda_proto * _compactness(z, labels)


@LOSSES.register("1va")
def ova_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    lambda_proto: float = 0.5,
    normalize: bool = True,
) -> torch.Tensor:
    """Cross-entropy blended with a prototype classifier: CE over negative squared distances to class means.

    ``(1 - lambda_proto) CE + lambda_proto * CE_proto`` with ``CE_proto = mean_i -log softmax_k(-d_ik)[y_i]``,
    ``d_ik = ||z_i - mu_k||^2`` to the batch mean ``mu_k`` of every class present (``z`` L2-normalised
    when ``normalize``): one-vs-all pull to the own mean and push from the others. With a single class
    in the batch ``CE_proto`` falls back to its compactness, as in the source.

    Source: ``models.py`` ``OneVsAllLoss`` (``lambda_proto=0.5, normalize=True``).
    """
    emb = _need(embeddings, "embeddings", "1va", _NEED_EMB)
    z = F.normalize(emb, dim=1) if normalize else emb
    ce = _ce(logits, labels, label_smoothing, class_weight)
    means, counts, inverse = _group_means(z, labels)
    if len(counts) < 2:
        proto = _compactness(z, labels)
    else:
        dists = ((z.unsqueeze(1) - means.unsqueeze(0)) ** 2).sum(dim=-1)  # (n, classes in batch)
        proto = F.cross_entropy(-dists, inverse)
    return (1.0 - lambda_proto) * ce + lambda_proto * proto


@LOSSES.register("ang")
def ang_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    temperature: float = 0.07,
    normalize: bool = True,
    rest_label: int = 0,
    w_ce: float = 1.0,
    w_supcon: float = 1.0,
    w_angle: float = 1.0,
) -> torch.Tensor:
    """Cross-entropy + supervised contrastive loss + angular spread of the class directions from rest.

    ``w_ce CE + w_supcon SupCon + w_angle A`` on L2-normalised embeddings ``z``:

    - ``SupCon = mean_i -(1/|P_i|) sum_{p in P_i} log(exp(s_ip) / (sum_{j != i} exp(s_ij) + 1e-8))``
      with ``s = z z^T / temperature`` shifted by each row's (detached) maximum, ``P_i`` the other
      samples of ``i``'s class; anchors without positives contribute 0 and still count in the mean.
    - ``A`` = mean pairwise cosine of the directions ``normalize(mu_c - mu_rest)`` of the active
      classes present (upper triangle); 0 unless rest and at least two active classes are in the
      batch. Minimising it spreads the gestures apart around rest.

    Source: ``models.py`` ``AngularLoss`` (``temperature=0.07``, weights 1/1/1, ``nm_label=0``).
    """
    emb = _need(embeddings, "embeddings", "ang", _NEED_EMB)
    z = F.normalize(emb, dim=1) if normalize else emb
    ce = _ce(logits, labels, label_smoothing, class_weight)

    angle = z.sum() * 0.0
    classes = torch.unique(labels)
    if bool((classes == rest_label).any()) and len(classes) > 2:
        means, _, _ = _group_means(z, labels)  # rows in the order of ``classes`` (both sorted)
        is_rest = classes == rest_label
        directions = F.normalize(means[~is_rest] - means[is_rest], dim=1)
        cos = directions @ directions.T
        iu = torch.triu_indices(cos.shape[0], cos.shape[1], offset=1, device=cos.device)
        angle = cos[iu[0], iu[1]].mean()

    n = z.shape[0]
    sim = z @ z.T / temperature
    sim = sim - sim.max(dim=1, keepdim=True).values.detach()  # numerical stability, as the source
    not_self = ~torch.eye(n, dtype=torch.bool, device=z.device)
    positives = (labels.unsqueeze(1) == labels.unsqueeze(0)) & not_self
    denom = (sim.exp() * not_self).sum(dim=1, keepdim=True)
    log_prob = sim - torch.log(denom + 1e-8)
    supcon = (-(log_prob * positives).sum(dim=1) / positives.sum(dim=1).clamp(min=1)).mean()
    return w_ce * ce + w_supcon * supcon + w_angle * angle


# ---- triplet -----------------------------------------------------------------------------------


def _hardest_triplets(z: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, margin: float) -> torch.Tensor:
    dist = 1.0 - z @ z.T  # cosine distance of unit vectors
    valid = pos.any(dim=1) & neg.any(dim=1)
    if not bool(valid.any()):
        return z.sum() * 0.0
    p_idx = dist.masked_fill(~pos, float("-inf")).argmax(dim=1)  # farthest positive
    n_idx = dist.masked_fill(~neg, float("inf")).argmin(dim=1)  # closest negative
    a = valid.nonzero().squeeze(1)
    d_ap = 1.0 - (z[a] * z[p_idx[a]]).sum(dim=1)
    d_an = 1.0 - (z[a] * z[n_idx[a]]).sum(dim=1)
    return F.relu(d_ap - d_an + margin).mean()


def batch_hard_triplet(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    users: torch.Tensor,
    *,
    margin: float = 0.5,
    w_hard: float = 1.0,
    w_soft: float = 0.0,
) -> torch.Tensor:
    """Batch-hard triplet loss on cosine distance with cross-user positives and same-user negatives.

    For every anchor ``a`` (L2-normalised embedding) with at least one positive and one negative:
    ``max(0, d(a, p*) - d(a, n*) + margin)``, ``d = 1 - cos``, ``p*`` the farthest positive and
    ``n*`` the closest negative; mean over those anchors (0 if none). The "hard" set (weight
    ``w_hard``) takes positives of the same class from *other* users and negatives of another class
    from the *same* user, so the user's identity must not organise the embedding; the "soft" set
    (``w_soft``) takes same-class same-user positives and other-class other-user negatives. The two
    are averaged with weights ``|w_hard|``, ``|w_soft|``.

    Source: ``models.py`` ``TripletLoss`` (``margin=0.5, w_hard=1.0, w_soft=0.0, batch_hard=True,
    normalize=True``; the source's ``batch_hard=False`` random mining is not offered).
    """
    if w_hard == 0 and w_soft == 0:
        raise ValueError("trp: w_hard and w_soft are both 0")
    z = F.normalize(embeddings, dim=1)
    same_class = labels.unsqueeze(1) == labels.unsqueeze(0)
    same_user = users.unsqueeze(1) == users.unsqueeze(0)
    not_self = ~torch.eye(len(labels), dtype=torch.bool, device=z.device)
    total = z.sum() * 0.0
    if w_hard != 0:
        total = total + w_hard * _hardest_triplets(z, same_class & ~same_user & not_self, ~same_class & same_user, margin)
    if w_soft != 0:
        total = total + w_soft * _hardest_triplets(z, same_class & same_user & not_self, ~same_class & ~same_user, margin)
    return total / (abs(w_hard) + abs(w_soft))


def _ramp_sigmoid(t: float) -> float:
    # the source's curve: steepness 10, centred at 65 % of the warm-up
    return 1.0 / (1.0 + math.exp(-10.0 * (t - 0.65)))


def triplet_weight(
    epoch: float | None,
    *,
    alpha_start: float = 0.01,
    alpha_end: float = 0.25,
    warmup_epochs: float = 25,
    ramp: str = "sigmoid",
) -> float:
    """Weight of the triplet term at 0-based ``epoch``: ``alpha_start`` at 0 to ``alpha_end`` from ``warmup_epochs`` on.

    ``p = min(epoch / warmup_epochs, 1)``; ``ramp="sigmoid"`` (the latest source):
    ``alpha = alpha_start + (alpha_end - alpha_start) (s(p) - s(0)) / (s(1) - s(0))``,
    ``s(p) = 1 / (1 + exp(-10 (p - 0.65)))``, slow at first, steepest at 65 % of the warm-up;
    ``ramp="linear"`` (an earlier source version): ``alpha_start + (alpha_end - alpha_start) p``.
    ``epoch=None`` gives ``alpha_end`` (the ramp's end, e.g. when evaluating a trained model).

    Source: ``utils.py`` ``train_triplet`` (``progress = min((ep - 1) / warmup_epochs, 1)`` with a
    1-based ``ep``) and the constants ``ALPHA_START = 0.01; ALPHA_END = 0.25; WARMUP = 25``.
    """
    if epoch is None or warmup_epochs <= 0:
        return float(alpha_end)
    p = min(max(float(epoch) / float(warmup_epochs), 0.0), 1.0)
    if ramp == "linear":
        shape = p
    elif ramp == "sigmoid":
        shape = (_ramp_sigmoid(p) - _ramp_sigmoid(0.0)) / (_ramp_sigmoid(1.0) - _ramp_sigmoid(0.0))
    else:
        raise ValueError(f"trp ramp must be 'sigmoid' or 'linear', got {ramp!r}")
    return float(alpha_start + (alpha_end - alpha_start) * shape)


@LOSSES.register("trp")
def trp_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    margin: float = 0.5,
    w_hard: float = 1.0,
    w_soft: float = 0.0,
    alpha_start: float = 0.01,
    alpha_end: float = 0.25,
    warmup_epochs: float = 25,
    ramp: str = "sigmoid",
    epoch: float | None = None,
) -> torch.Tensor:
    """Cross-entropy blended with the cross-user batch-hard triplet loss, the triplet weight ramped.

    ``(1 - alpha(epoch)) CE + alpha(epoch) T`` with ``T`` from :func:`batch_hard_triplet` and
    ``alpha`` from :func:`triplet_weight` (0.01 -> 0.25 over 25 epochs, sigmoid). Batches should be
    built by :class:`myoflow.samplers.TripletBatchSampler` (classes x users x samples) so that every
    anchor has cross-user positives and same-user negatives.

    Source: ``utils.py`` ``train_triplet`` (the blend and ramp) and ``models.py`` ``TripletLoss``.
    The source's training loop also steps the LR scheduler and early stopping only after the warm-up,
    on the blended validation loss; that is the estimator's business, not the loss's.
    """
    emb = _need(embeddings, "embeddings", "trp", _NEED_EMB)
    users = _need(users, "users", "trp", _NEED_USERS)
    alpha = triplet_weight(epoch, alpha_start=alpha_start, alpha_end=alpha_end, warmup_epochs=warmup_epochs, ramp=ramp)
    ce = _ce(logits, labels, label_smoothing, class_weight)
    tri = batch_hard_triplet(emb, labels, users, margin=margin, w_hard=w_hard, w_soft=w_soft)
    return (1.0 - alpha) * ce + alpha * tri


# ---- gradient reversal -------------------------------------------------------------------------


class GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by ``-lambd`` (Ganin & Lempitsky 2015).

    Source: ``models.py`` ``_GRLFn``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambd: float) -> torch.Tensor:
        ctx.lambd = float(lambd)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return -ctx.lambd * grad_output, None


def grad_reverse(x: torch.Tensor, lambd: float = 1.0) -> torch.Tensor:
    """``x`` unchanged, with its gradient reversed and scaled by ``lambd`` on the way back."""
    return GradientReversal.apply(x, lambd)


def grl_lambda(epoch: float | None, ramp_epochs: float = 50) -> float:
    """Reversal strength at 0-based ``epoch``: ``clip(epoch / ramp_epochs, 0, 1)``; None gives 1.

    The source ramps per optimizer step, ``global_step / (ramp_epochs * steps_per_epoch)``; a
    fractional epoch ``epoch + batch_index / n_batches`` reproduces that exactly, an integer epoch
    gives a per-epoch staircase (at most ``1 / ramp_epochs`` below the source's value).

    Source: ``utils.py`` ``train_grl`` (``ramp_epochs=50``; the scripts keep the default).
    """
    if epoch is None or ramp_epochs <= 0:
        return 1.0
    return float(min(max(float(epoch) / float(ramp_epochs), 0.0), 1.0))


@LOSSES.register("grl")
def grl_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
    grl_weight: float = 1.0,
    ramp_epochs: float = 50,
    epoch: float | None = None,
    user_head: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Cross-entropy plus user cross-entropy through a gradient-reversal layer (domain-adversarial training).

    ``CE(logits, y) + grl_weight * CE(user_head(R_lambda(z)), users)`` with ``R_lambda`` the
    gradient reversal (:class:`GradientReversal`) of strength ``lambda = grl_lambda(epoch, ramp_epochs)``
    (0 -> 1 over 50 epochs). The user head learns to tell the training users apart; the reversed
    gradient drives the encoder to make the embedding useless for that.

    What the model and estimator must provide: ``embeddings`` (``forward_with_embedding``), ``users``
    as codes ``0..U-1`` (the estimator's ``groups`` encoding) and, as the call argument ``user_head``,
    the model's user classifier: a module mapping the embedding (batch, embed_dim) to logits over the
    ``U`` training users (the spec's ``Linear(128 -> number of training users)``) whose parameters are
    among the model's parameters (so the optimizer trains them). The head must not reverse gradients
    itself: the reversal happens here.

    Source: ``utils.py`` ``train_grl`` (``grl_weight=1.0, ramp_epochs=50``) with ``models.py``
    ``MHCNN_GRL`` (``GRL`` + ``classifier_grl`` on the embedding). The source's model holds the
    reversal and the trainer sets its strength per step; here the loss holds both (see
    :func:`grl_lambda` for the per-epoch ramp).
    """
    emb = _need(embeddings, "embeddings", "grl", _NEED_EMB)
    users = _need(users, "users", "grl", _NEED_USERS)
    if user_head is None:
        raise ValueError("loss 'grl' needs user_head: the model's user classifier (embedding -> training-user logits)")
    user_logits = user_head(grad_reverse(emb, grl_lambda(epoch, ramp_epochs)))
    if user_logits.shape[0] != len(users) or int(users.max()) >= user_logits.shape[1] or int(users.min()) < 0:
        raise ValueError(f"grl: user codes must lie in 0..{user_logits.shape[1] - 1} (the user head's outputs), "
                         f"got {int(users.min())}..{int(users.max())}")
    ce = _ce(logits, labels, label_smoothing, class_weight)
    if user_logits.dtype in (torch.float16, torch.bfloat16):
        user_logits = user_logits.float()  # a head run under autocast: the CE in full precision
    return ce + grl_weight * F.cross_entropy(user_logits, users)
