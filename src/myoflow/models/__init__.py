"""Model registry: every network of every study, built by name from config values.

Use :func:`build_model` from rule scripts; the classes are importable for direct use and tests.
Names are case-insensitive (``MHCNN`` in a config is ``mhcnn`` here).
"""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from myoflow.models.crossuser import CNN, CNN_HCF, LSTM, LSTM_HCF, MHCNN, MHCNN_GRL, MLP
from myoflow.models.disentangle import DisentangleNet
from myoflow.models.latent import LatentANN, LatentCNN, LatentLSTM
from myoflow.models.mobilenetv2 import MobileNetV2, count_params_and_macs
from myoflow.registry import Registry

__all__ = [
    "MODELS",
    "build_model",
    "model_params",
    "count_params_and_macs",
    "MHCNN",
    "MHCNN_GRL",
    "CNN",
    "LSTM",
    "MLP",
    "LSTM_HCF",
    "CNN_HCF",
    "MobileNetV2",
    "DisentangleNet",
    "LatentANN",
    "LatentCNN",
    "LatentLSTM",
]

#: lower-case name -> class; every class takes ``(input_shape, n_classes, **params)``.
MODELS: Registry[Callable[..., nn.Module]] = Registry("model")
MODELS.register("mhcnn", MHCNN)
MODELS.register("mhcnn_grl", MHCNN_GRL)
MODELS.register("cnn", CNN)
MODELS.register("lstm", LSTM)
MODELS.register("mlp", MLP)
MODELS.register("lstm_hcf", LSTM_HCF)
MODELS.register("cnn_hcf", CNN_HCF)
MODELS.register("mobilenetv2", MobileNetV2)
MODELS.register("disentangle", DisentangleNet)
MODELS.register("latent_ann", LatentANN)
MODELS.register("latent_cnn", LatentCNN)
MODELS.register("latent_lstm", LatentLSTM)


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
    return MODELS.parameters(str(name).lower())


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
    return MODELS.build(str(name).lower(), tuple(int(v) for v in input_shape), int(n_classes), **params)
