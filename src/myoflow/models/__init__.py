"""Model registry: every network of every study, built by name from config values.

Use :func:`build_model` from rule scripts; the classes are importable for direct use and tests.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from torch import nn

from myoflow.errors import ConfigError
from myoflow.models.crossuser import CNN, LSTM, MHCNN, MLP
from myoflow.models.disentangle import DisentangleNet
from myoflow.models.mobilenetv2 import MobileNetV2, count_params_and_macs

__all__ = [
    "MODELS",
    "build_model",
    "model_params",
    "count_params_and_macs",
    "MHCNN",
    "CNN",
    "LSTM",
    "MLP",
    "MobileNetV2",
    "DisentangleNet",
]

#: name -> class; every class takes ``(input_shape, n_classes, **params)``.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "mhcnn": MHCNN,
    "cnn": CNN,
    "lstm": LSTM,
    "mlp": MLP,
    "mobilenetv2": MobileNetV2,
    "disentangle": DisentangleNet,
}


def _lookup(name: str) -> Callable[..., nn.Module]:
    key = str(name).lower()
    if key not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[key]


def model_params(name: str) -> dict[str, Any]:
    """Return the tunable parameters of a registered model and their defaults.

    Parameters
    ----------
    name : str
        Registered model name (case-insensitive).

    Returns
    -------
    dict
        Parameter name -> default value (``input_shape`` and ``n_classes`` excluded).
    """
    sig = inspect.signature(_lookup(name).__init__)
    return {
        p.name: p.default
        for p in sig.parameters.values()
        if p.name not in ("self", "input_shape", "n_classes")
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def build_model(name: str, input_shape: tuple, n_classes: int, **params: Any) -> nn.Module:
    """Build a registered model.

    Parameters
    ----------
    name : str
        One of ``MODELS`` (case-insensitive): mhcnn, cnn, lstm, mlp, mobilenetv2, disentangle.
    input_shape : tuple of int
        Shape of one sample without the batch dimension, e.g. ``(8, 40)`` for Myo windows,
        ``(1, 8, 24)`` for HD-sEMG images, ``(F, 16, 16)`` for the disentanglement model.
    n_classes : int
        Number of classes (ignored by the disentanglement model).
    **params
        Architecture parameters of that model (see :func:`model_params`).

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ValueError (:class:`myoflow.errors.ConfigError`)
        Unknown model name or unknown parameter; the message names it and lists the known ones.
    """
    cls = _lookup(name)
    known = model_params(name)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for model {name!r}; "
            f"known parameters: {', '.join(sorted(known)) or '(none)'}"
        )
    return cls(tuple(int(v) for v in input_shape), int(n_classes), **params)
