"""Width-scaled MobileNetV2 for HD-sEMG images, and a thop-compatible parameter / MAC counter.

Architecture facts that reproduce the published table (CNN-HD-sEMG-Classifier / EffiE; checked
in ``tests/test_models.py``):

- the width multiplier scales only the expansion factor: ``int(t * width)`` for ``t != 1``;
  channel counts (32, 16, 24, ..., 320, 1280) are never scaled;
- every block has the 1x1 expansion conv, even when ``t == 1`` (a 32 -> 32 conv in block one);
- all convolutions are bias-free, each followed by BatchNorm (affine);
- stride-1 blocks always add a shortcut; when channels differ it is a bias-free 1x1 conv + BN;
  stride-2 blocks have no shortcut;
- the head is conv1x1 320 -> 1280 + BN + ReLU, flattened without pooling (1280 x 1 x 3 = 3840
  for an 8 x 24 or 7 x 24 image) into one Linear layer (with bias).

MACs count convolutions, linear layers and BatchNorm as ``thop`` does (BN: 2 per element, x2
for affine), so width 1.0 / 8 x 24 / 8 classes gives 2,314,264 parameters and 18,302,976 MACs.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MobileNetV2", "InvertedResidual", "count_params_and_macs", "CONFIG"]

#: (expansion t, output channels c, repeats n, first stride s), as published.
CONFIG: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def scaled_expansion(t: int, width: float) -> int:
    """Expansion factor after the width multiplier: ``t`` if ``t == 1`` else ``int(t * width)``."""
    return t if t == 1 else max(1, int(t * width))


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> project (1x1), with the source's shortcut rule.

    Parameters
    ----------
    in_channels, out_channels : int
        Block input and output channels.
    expansion : int
        Hidden channels = ``expansion * in_channels``.
    stride : int
        Depthwise stride; only stride-1 blocks add a shortcut.
    """

    def __init__(self, in_channels: int, out_channels: int, expansion: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        hidden = expansion * in_channels
        self.expand = nn.Conv2d(in_channels, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.depthwise = nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False)
        self.bn2 = nn.BatchNorm2d(hidden)
        self.project = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        # stride-1 blocks always get a residual; a 1x1 projection fixes a channel mismatch
        self.shortcut: nn.Module | None = None
        if stride == 1:
            if in_channels != out_channels:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
                )
            else:
                self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.expand(x)))
        out = F.relu(self.bn2(self.depthwise(out)))
        out = self.bn3(self.project(out))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return out


def _conv_out(n: int, stride: int) -> int:
    """Output length of a k3/p1 convolution with the given stride."""
    return (n + 2 - 3) // stride + 1


class MobileNetV2(nn.Module):
    """MobileNetV2 with a width multiplier on the expansion factor (see module docstring).

    Parameters
    ----------
    input_shape : tuple of int
        ``(channels, rows, cols)``, e.g. ``(1, 8, 24)`` or ``(1, 7, 24)``.
    n_classes : int
        Number of output classes.
    width : float
        Width multiplier (1.0, 0.7, 0.4, 0.2 in the published table).
    stem_channels, head_channels : int
        Stem and head widths (32 and 1280 as published).
    dropout : float
        Dropout before the classifier (0 = none, as published).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int,
        width: float = 1.0,
        stem_channels: int = 32,
        head_channels: int = 1280,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        shape = tuple(int(v) for v in input_shape)
        if len(shape) != 3:
            raise ValueError(f"MobileNetV2 expects input_shape (channels, rows, cols), got {shape}")
        if width <= 0:
            raise ValueError(f"MobileNetV2 width must be positive, got {width}")
        in_ch, rows, cols = shape
        self.width = float(width)
        self.stem = nn.Conv2d(in_ch, stem_channels, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(stem_channels)
        blocks: list[nn.Module] = []
        c_in = stem_channels
        for t, c, n, s in CONFIG:
            for i in range(n):
                stride = s if i == 0 else 1
                blocks.append(InvertedResidual(c_in, c, scaled_expansion(t, width), stride))
                rows, cols = _conv_out(rows, stride), _conv_out(cols, stride)
                c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(c_in, head_channels, 1, bias=False)
        self.head_bn = nn.BatchNorm2d(head_channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        # no pooling: the head map is flattened, so the Linear size depends on the image size
        self.flat_features = head_channels * rows * cols
        self.classifier = nn.Linear(self.flat_features, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the flattened head feature map (batch, 1280 * rows' * cols')."""
        out = F.relu(self.stem_bn(self.stem(x)))
        out = self.blocks(out)
        out = F.relu(self.head_bn(self.head(out)))
        return out.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.embed(x)))


# ---------------------------------------------------------------------------------------------
# thop-compatible counting


def _conv_macs(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    # thop: output elements x (input channels / groups) x kernel elements; bias not counted
    return y.numel() * (x.shape[1] // m.groups) * math.prod(m.kernel_size)


def _conv_transpose_macs(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    # every input element is multiplied into (out / groups) x kernel outputs
    return x.numel() * (m.out_channels // m.groups) * math.prod(m.kernel_size)


def _linear_macs(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    return m.in_features * y.numel()


def _norm_macs(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    # thop: normalise = 2 ops per element, affine scale/shift doubles it
    ops = 2 * x.numel()
    if getattr(m, "affine", False) or getattr(m, "elementwise_affine", False):
        ops *= 2
    return ops


def _avgpool_macs(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    return y.numel()


def _adaptive_avgpool_macs(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    kernel = math.prod(i // o for i, o in zip(x.shape[2:], y.shape[2:]))
    return (kernel + 1) * y.numel()


_MAC_RULES: tuple[tuple[tuple[type, ...], object], ...] = (
    ((nn.Conv1d, nn.Conv2d, nn.Conv3d), _conv_macs),
    ((nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d), _conv_transpose_macs),
    ((nn.Linear,), _linear_macs),
    ((nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.LayerNorm, nn.GroupNorm), _norm_macs),
    ((nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d), _avgpool_macs),
    ((nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d), _adaptive_avgpool_macs),
)


def count_params_and_macs(model: nn.Module, input_shape: Sequence[int]) -> tuple[int, int]:
    """Count parameters and multiply-accumulates of one forward pass, the way ``thop`` does.

    Rules (thop's): convolution = output elements x in_channels/groups x kernel elements (bias
    ignored); linear = in_features x output elements; BatchNorm / InstanceNorm / LayerNorm /
    GroupNorm = 2 x input elements, doubled when affine; average pooling as thop; activations,
    dropout, max pooling, element-wise additions and functional calls count zero. Transposed
    convolutions count input elements x out_channels/groups x kernel elements (true MACs);
    recurrent layers are not counted.

    Parameters
    ----------
    model : torch.nn.Module
        Model to profile; its train/eval mode is restored afterwards.
    input_shape : sequence of int
        Shape of one sample without the batch dimension, e.g. ``(1, 8, 24)``; a batch of one
        zero-filled sample is pushed through.

    Returns
    -------
    params, macs : int
        Number of parameters and MACs for one sample.
    """
    params = sum(p.numel() for p in model.parameters())
    total = [0]

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        for types, rule in _MAC_RULES:
            if isinstance(module, types):
                total[0] += int(rule(module, inputs[0], output))  # type: ignore[operator]
                return

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    was_training = model.training
    try:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *tuple(int(v) for v in input_shape)), device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return params, total[0]
