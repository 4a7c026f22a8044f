"""The disentanglement study's network latent classifiers (ANN, CNN, LSTM on one latent).

Each takes a flattened latent of ``D`` values (the source: 128 x 2 x 2 = 512) and mirrors the
source's ``models.py`` (``ANNmodel``, ``CNNmodel``, ``LSTMmodel``), which reshaped the 512
values to ``(2, 16, 16)`` (CNN) or a sequence of 2 steps of 256 values (LSTM). Here the reshape
follows ``D``: ``(2, s, s)`` with ``s = sqrt(D / 2)`` for the CNN (D must be twice a square) and
``(2, D / 2)`` for the LSTM, so the reduced default model (D = 128 -> (2, 8, 8)) runs the same
layers. The CNN's flattened width is computed from the map size instead of the source's fixed 3136
(= 64 x 7 x 7 for 16 x 16 maps).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

__all__ = ["LatentANN", "LatentCNN", "LatentLSTM"]


def _latent_size(input_shape: Sequence[int], name: str) -> int:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 1 or shape[0] < 2 or shape[0] % 2:
        raise ValueError(f"{name} expects input_shape (D,) with D even (a flattened latent), got {shape}")
    return shape[0]


class LatentANN(nn.Module):
    """D -> hidden -> hidden -> classes, ReLU between (the source: 512 -> 256 -> 256 -> classes)."""

    def __init__(self, input_shape: Sequence[int], n_classes: int, hidden: int = 256) -> None:
        super().__init__()
        d = _latent_size(input_shape, "LatentANN")
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class LatentCNN(nn.Module):
    """The latent as a 2-channel map (2, s, s) through the source's two conv blocks and MLP head.

    Conv2d(2 -> 32, k2) BN MaxPool(2, stride 1) ReLU; Conv2d(32 -> 64, k2, pad 1) BN MaxPool(2)
    ReLU; flatten -> BN1d -> Dropout 0.5 -> ReLU -> Linear(-> 256) -> BN1d -> ReLU -> classes.
    """

    def __init__(self, input_shape: Sequence[int], n_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        d = _latent_size(input_shape, "LatentCNN")
        side = math.isqrt(d // 2)
        if side * side * 2 != d or side < 3:
            raise ValueError(f"LatentCNN needs D = 2 * s * s with s >= 3 (the latent as a (2, s, s) map), got D = {d}")
        self.side = side
        self.features = nn.Sequential(
            nn.Conv2d(2, 32, kernel_size=2), nn.BatchNorm2d(32), nn.MaxPool2d(2, stride=1), nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=2, padding=1), nn.BatchNorm2d(64), nn.MaxPool2d(2, stride=2), nn.ReLU(),
        )
        # map side through the blocks: s -> s-1 (conv k2) -> s-2 (pool 2/1) -> s-1 (conv k2 p1) -> (s-1)//2
        flat = 64 * ((side - 1) // 2) ** 2
        self.head = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(flat), nn.Dropout(dropout), nn.ReLU(),
                                  nn.Linear(flat, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.reshape(len(x), 2, self.side, self.side)))


class LatentLSTM(nn.Module):
    """The latent as 2 steps of D/2 values: LSTM (hidden 48), max-pool 16 over the hidden units,
    flatten, Linear(-> 1024) ReLU Dropout 0.4, classes (the source's ``LSTMmodel``)."""

    def __init__(self, input_shape: Sequence[int], n_classes: int, hidden: int = 48, pool: int = 16,
                 head: int = 1024, dropout: float = 0.4) -> None:
        super().__init__()
        d = _latent_size(input_shape, "LatentLSTM")
        if hidden < pool:
            raise ValueError(f"LatentLSTM: hidden ({hidden}) must be at least pool ({pool})")
        self.steps, self.step_size = 2, d // 2
        self.lstm = nn.LSTM(input_size=self.step_size, hidden_size=hidden, batch_first=True)
        self.pool = nn.MaxPool1d(pool, stride=pool)
        self.head = nn.Sequential(nn.Linear(self.steps * (hidden // pool), head), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(head, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.reshape(len(x), self.steps, self.step_size))
        return self.head(self.pool(out).flatten(1))
