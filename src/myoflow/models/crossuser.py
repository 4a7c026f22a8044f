"""Models of the cross-user zero-shot study (EMG-EPN-612, Myo 8 channels).

Every model maps a batch to logits and exposes ``embed(x)``, the 128-d embedding that the
metric-learning losses and the PCA figures use. Raw-window models take ``(batch, channels,
samples)``; :class:`MLP` takes ``(batch, features)``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["MHCNN", "MHCNN_GRL", "CNN", "LSTM", "MLP", "LSTM_HCF", "CNN_HCF"]


def _kaiming_init(module: nn.Module) -> None:
    """Kaiming-normal weights and zero biases for every conv and linear layer (the spec's init).

    LSTM weights keep PyTorch's default: Kaiming scaling assumes a ReLU after the layer, which
    does not hold for gated recurrent units.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class _EmbeddingHead(nn.Module):
    """Linear(hidden) GELU dropout -> Linear(embedding); the classifier sits outside it."""

    def __init__(self, in_features: int, hidden: int, embed_dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, embed_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _CrossUserModel(nn.Module):
    """Shared plumbing: ``features`` -> head (embedding) -> linear classifier."""

    head: _EmbeddingHead
    classifier: nn.Linear

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the embedding (batch, embed_dim) that feeds the final linear layer."""
        return self.head(self.features(x))

    def forward_with_embedding(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(logits, embedding)`` from one pass, for losses that need both."""
        emb = self.embed(x)
        return self.classifier(emb), emb

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def _same_padding(kernel_size: int, dilation: int) -> tuple[int, int]:
    """(left, right) padding that keeps the length of a stride-1 dilated convolution."""
    total = dilation * (kernel_size - 1)
    return total // 2, total - total // 2


def _check_shape(input_shape: Sequence[int], ndim: int, name: str, meaning: str) -> tuple[int, ...]:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != ndim:
        raise ValueError(f"{name} expects input_shape {meaning}, got {shape}")
    return shape


class MHCNN(_CrossUserModel):
    """Multi-head dilated 1-D CNN (the study's proposed model, ~89k parameters for 8 ch, 5 classes).

    Three parallel ``Conv1d(C -> n_filters, kernel_size, padding='same')`` heads with dilations
    1, 2, 4 (each ReLU + dropout) are concatenated, then ``Conv1d(3*n_filters -> mid_channels,
    mid_kernel)`` ReLU dropout, global average pooling, and the embedding head.

    Parameters
    ----------
    input_shape : tuple of int
        ``(channels, samples)``.
    n_classes : int
        Number of output classes.
    n_filters, kernel_size, dilations, mid_channels, mid_kernel, hidden, embed_dim, dropout
        Architecture knobs; the defaults are the published model.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int,
        n_filters: int = 32,
        kernel_size: int = 8,
        dilations: Sequence[int] = (1, 2, 4),
        mid_channels: int = 128,
        mid_kernel: int = 4,
        hidden: int = 128,
        embed_dim: int = 128,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        channels, samples = _check_shape(input_shape, 2, "MHCNN", "(channels, samples)")
        if samples < mid_kernel:
            raise ValueError(f"MHCNN needs at least {mid_kernel} samples per window, got {samples}")
        # 'same' padding keeps every head at the window length so the heads can be concatenated;
        # explicit (left, right) zero padding as TF/Keras and torch's padding='same' place it
        # (extra element on the right for even kernels), without torch's copy warning
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.ConstantPad1d(_same_padding(kernel_size, int(d)), 0.0),
                nn.Conv1d(channels, n_filters, kernel_size, dilation=int(d)),
                nn.ReLU(),
                nn.Dropout(dropout),
            )
            for d in dilations
        )
        self.mix = nn.Sequential(
            nn.Conv1d(n_filters * len(dilations), mid_channels, mid_kernel),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.head = _EmbeddingHead(mid_channels, hidden, embed_dim, dropout)
        self.classifier = nn.Linear(embed_dim, n_classes)
        _kaiming_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.cat([head(x) for head in self.heads], dim=1)
        return self.mix(h).mean(dim=-1)  # global average pool over time


class MHCNN_GRL(MHCNN):
    """MHCNN with a user head over the training users, for domain-adversarial training (loss ``grl``).

    ``user_head = Linear(embed_dim -> n_users)`` sits on the embedding beside the gesture
    classifier. It does not reverse gradients itself: the ``grl`` loss passes the embedding through
    the gradient-reversal layer (strength ramped 0 -> 1) before calling it, so the head learns to
    tell the training users apart while the encoder learns to defeat it. Prediction uses the
    gesture classifier only; the head plays no part at test time.

    Parameters
    ----------
    n_users : int
        Number of training users; the estimator sets it from the training ``groups``.
    **mhcnn_params
        As :class:`MHCNN`.

    Source: ``models.py`` ``MHCNN_GRL`` (``GRL`` + ``classifier_grl = Linear(128, n_subjects)``).
    """

    def __init__(self, input_shape: Sequence[int], n_classes: int, n_users: int = 2, **mhcnn_params) -> None:
        super().__init__(input_shape, n_classes, **mhcnn_params)
        if int(n_users) < 2:
            raise ValueError(f"MHCNN_GRL needs at least 2 training users for its user head, got {n_users}")
        self.user_head = nn.Linear(self.classifier.in_features, int(n_users))
        _kaiming_init(self.user_head)


class CNN(_CrossUserModel):
    """Single-scale CNN ablation: Conv1d C->32 (k4), 32->128 (k3), 128->128 (k3), then MHCNN's head.

    Each convolution is followed by ReLU and dropout; no padding; global average pooling.

    Parameters
    ----------
    input_shape : tuple of int
        ``(channels, samples)``.
    n_classes : int
        Number of output classes.
    channels, kernels, hidden, embed_dim, dropout
        Architecture knobs; the defaults are the published ablation.
    padding : {"valid", "same"}
        ``valid`` (the ablation: no padding); ``same`` keeps the length (short inputs such as
        four sub-window pieces).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int,
        channels: Sequence[int] = (32, 128, 128),
        kernels: Sequence[int] = (4, 3, 3),
        hidden: int = 128,
        embed_dim: int = 128,
        dropout: float = 0.2,
        padding: str = "valid",
    ) -> None:
        super().__init__()
        in_ch, samples = _check_shape(input_shape, 2, "CNN", "(channels, samples)")
        if len(channels) != len(kernels):
            raise ValueError("CNN: channels and kernels must have the same length")
        if padding not in ("valid", "same"):
            raise ValueError(f"CNN: padding must be 'valid' or 'same', got {padding!r}")
        if padding == "valid" and samples - sum(k - 1 for k in kernels) < 1:
            raise ValueError(f"CNN: window of {samples} samples is too short for kernels {tuple(kernels)}")
        layers: list[nn.Module] = []
        for out_ch, k in zip(channels, kernels):
            if padding == "same":  # explicit (left, right) zeros: even kernels need them uneven
                layers.append(nn.ConstantPad1d(_same_padding(int(k), 1), 0.0))
            layers += [nn.Conv1d(in_ch, int(out_ch), int(k)), nn.ReLU(), nn.Dropout(dropout)]
            in_ch = int(out_ch)
        self.convs = nn.Sequential(*layers)
        self.head = _EmbeddingHead(in_ch, hidden, embed_dim, dropout)
        self.classifier = nn.Linear(embed_dim, n_classes)
        _kaiming_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x).mean(dim=-1)


class LSTM(_CrossUserModel):
    """Stacked LSTM over time steps; the last layer's final hidden state feeds MHCNN's head.

    Input ``(batch, channels, samples)`` is read as ``samples`` time steps of ``channels``
    values. Dropout is also applied between LSTM layers.

    Parameters
    ----------
    input_shape : tuple of int
        ``(channels, samples)`` (for sub-window features: ``(features, pieces)``).
    n_classes : int
        Number of output classes.
    hidden_size, num_layers, hidden, embed_dim, dropout
        Architecture knobs; defaults are the published 3-layer, 128-unit LSTM.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int,
        hidden_size: int = 128,
        num_layers: int = 3,
        hidden: int = 128,
        embed_dim: int = 128,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        channels, _ = _check_shape(input_shape, 2, "LSTM", "(channels, samples)")
        self.lstm = nn.LSTM(
            channels,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = _EmbeddingHead(hidden_size, hidden, embed_dim, dropout)
        self.classifier = nn.Linear(embed_dim, n_classes)
        _kaiming_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        _, (h_n, _) = self.lstm(x.transpose(1, 2))  # (B, C, T) -> (B, T, C)
        return h_n[-1]


class MLP(_CrossUserModel):
    """MLP on window features: F -> 256 -> 256 -> 128 (ReLU + dropout) -> embedding 128 -> classes.

    Parameters
    ----------
    input_shape : tuple of int
        ``(features,)``.
    n_classes : int
        Number of output classes.
    layers, embed_dim, dropout
        Hidden widths; the last one feeds the embedding layer.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int,
        layers: Sequence[int] = (256, 256, 128),
        embed_dim: int = 128,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        (n_in,) = _check_shape(input_shape, 1, "MLP", "(features,)")
        blocks: list[nn.Module] = []
        for width in layers:
            blocks += [nn.Linear(n_in, int(width)), nn.ReLU(), nn.Dropout(dropout)]
            n_in = int(width)
        self.body = nn.Sequential(*blocks)
        self.embedding = nn.Linear(n_in, embed_dim)
        self.classifier = nn.Linear(embed_dim, n_classes)
        _kaiming_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the embedding (batch, embed_dim)."""
        return self.embedding(self.features(x))


def _pieces_shape(input_shape: Sequence[int], name: str) -> tuple[int, int]:
    pieces, n_features = _check_shape(input_shape, 2, name, "(pieces, features)")
    return pieces, n_features


class LSTM_HCF(LSTM):  # noqa: N801 - the study's model name
    """:class:`LSTM` over sub-window features: input ``(batch, pieces, features)``, the pieces
    (consecutive time pieces of the window) as time steps of ``features`` values.

    With the source's reshape (``feature_model_inputs(..., "source_reshape")``) the input is
    ``(batch, 8, F / 8)`` rows of the window's feature vector; the model is the same.
    """

    def __init__(self, input_shape: Sequence[int], n_classes: int, **lstm_params) -> None:
        pieces, n_features = _pieces_shape(input_shape, "LSTM_HCF")
        super().__init__((n_features, pieces), n_classes, **lstm_params)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return super().features(x.transpose(1, 2))  # (B, pieces, F) -> LSTM's (B, F, pieces)


class CNN_HCF(CNN):  # noqa: N801 - the study's model name
    """:class:`CNN` over sub-window features ``(batch, pieces, features)``: features are the
    convolution's input channels, pieces its time axis; ``same`` padding by default, as four
    pieces are shorter than the ablation's kernels allow without it.
    """

    def __init__(self, input_shape: Sequence[int], n_classes: int, padding: str = "same", **cnn_params) -> None:
        pieces, n_features = _pieces_shape(input_shape, "CNN_HCF")
        super().__init__((n_features, pieces), n_classes, padding=padding, **cnn_params)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return super().features(x.transpose(1, 2))
