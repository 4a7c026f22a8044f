"""Training losses of the cross-user study, by name.

Each loss is a function ``loss(logits, labels, embeddings, users, *, <keyword-only params>) ->
scalar tensor`` registered on :data:`LOSSES`; its keyword-only parameters are config values,
checked by :func:`make_loss`. ``users`` are integer user codes of the batch (None when the
estimator was fitted without ``groups``). A loss that declares a keyword-only ``epoch`` receives
the current 0-based epoch from :class:`~myoflow.torch_estimator.TorchClassifier` (for weight
ramps). Add one with ``@LOSSES.register("name")``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from .registry import Registry

__all__ = ["LOSSES", "LossFn", "make_loss", "ce_loss", "cvar_loss"]

LossFn = Callable[..., torch.Tensor]

#: name -> loss function ``(logits, labels, embeddings, users, *, params) -> scalar``.
LOSSES: Registry[LossFn] = Registry("loss")

#: what the estimator passes on every call: never config values
CALL_ARGUMENTS = frozenset({"logits", "labels", "embeddings", "users", "epoch"})


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
        ``loss(logits, labels, embeddings=None, users=None[, epoch=...]) -> scalar tensor``.

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


@LOSSES.register("ce")
def ce_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Base cross-entropy, mean over the batch (embeddings and users unused)."""
    return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)


@LOSSES.register("cvar")
def cvar_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor | None = None,
    users: torch.Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    alpha: float = 0.3,
) -> torch.Tensor:
    """Conditional value at risk: mean cross-entropy of the hardest ``alpha`` share of the batch.

    ``ceil(alpha * batch)`` samples (at least one) with the largest per-sample loss count.
    """
    per_sample = F.cross_entropy(logits, labels, reduction="none", label_smoothing=label_smoothing)
    k = max(1, math.ceil(alpha * per_sample.numel()))
    return per_sample.topk(k).values.mean()
