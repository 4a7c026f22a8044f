"""Dual-encoder disentanglement model (pattern vs subject components of HD-sEMG maps).

Two identical encoders map an ``(F, 16, 16)`` electrode map to a pattern latent ``p`` and a
subject latent ``s`` (``128 x 2 x 2`` = 512 values each with the published widths); one decoder
rebuilds the map from ``[p, s]``; an MLP discriminator judges real against reconstructed maps.
Training lives in :func:`myoflow.disentangle.train_disentangle`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

__all__ = ["DECODER_STYLES", "Encoder", "Decoder", "Discriminator", "DisentangleNet"]


class Encoder(nn.Module):
    """Blocks of Conv2d(k3, s2, p1) -> Dropout -> InstanceNorm2d -> LeakyReLU(0.2); each halves H, W.

    Parameters
    ----------
    in_channels : int
        F, values per electrode.
    channels : sequence of int
        Output channels of each block (published: 512, 256, 128).
    dropout : float
        Dropout after each convolution (published 0.1).
    slope : float
        LeakyReLU negative slope (published 0.2).
    """

    def __init__(
        self, in_channels: int, channels: Sequence[int] = (512, 256, 128), dropout: float = 0.1, slope: float = 0.2
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for c in channels:
            layers += [
                nn.Conv2d(c_in, int(c), 3, stride=2, padding=1),
                nn.Dropout(dropout),
                nn.InstanceNorm2d(int(c)),
                nn.LeakyReLU(slope),
            ]
            c_in = int(c)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


#: decoder stage styles (``DisentangleNet(decoder=...)``)
DECODER_STYLES = ("transpose", "upsample")


def _upsample_stage(c_in: int, c_out: int) -> list[nn.Module]:
    """Nearest x2 upsample, reflection pad 1, Conv2d k3: doubles H, W without the checkerboard
    pattern a strided transposed convolution can leave."""
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3)]


def _transpose_stage(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)]


class Decoder(nn.Module):
    """Stages that each double H, W, then a 1x1 conv.

    ``style="transpose"`` (the source's main decoder): ConvTranspose2d(k3, s2, p1, output padding 1)
    stages. ``style="upsample"`` (the spec's alternative): nearest upsample + reflection pad +
    Conv2d(k3) stages. Hidden stages use BatchNorm + LeakyReLU; the last stage (to F channels) uses
    Tanh, as in the source; the final 1x1 conv lets the output leave Tanh's [-1, 1] range.

    Parameters
    ----------
    in_channels : int
        Channels of ``[p, s]`` (published 256).
    channels : sequence of int
        Hidden stage widths (published 128, 64).
    out_channels : int
        F.
    slope : float
        LeakyReLU slope of the hidden stages (the source used PyTorch's default 0.01).
    style : str
        ``transpose`` or ``upsample``.
    """

    def __init__(
        self, in_channels: int, channels: Sequence[int], out_channels: int, slope: float = 0.01,
        style: str = "transpose",
    ) -> None:
        super().__init__()
        if style not in DECODER_STYLES:
            raise ValueError(f"Decoder: style must be one of {DECODER_STYLES}, got {style!r}")
        stage = _transpose_stage if style == "transpose" else _upsample_stage
        layers: list[nn.Module] = []
        c_in = in_channels
        for c in channels:
            layers += [*stage(c_in, int(c)), nn.BatchNorm2d(int(c)), nn.LeakyReLU(slope)]
            c_in = int(c)
        layers += [*stage(c_in, out_channels), nn.Tanh(), nn.Conv2d(out_channels, out_channels, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """MLP on a flattened map: F*H*W -> 512 -> 256 -> 1 (LeakyReLU 0.2); returns logits.

    The source ended with a Sigmoid and BCE; logits + ``BCEWithLogits`` is the same loss,
    numerically safer.
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (512, 256), slope: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        n_in = in_features
        for h in hidden:
            layers += [nn.Linear(n_in, int(h)), nn.LeakyReLU(slope)]
            n_in = int(h)
        layers.append(nn.Linear(n_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class DisentangleNet(nn.Module):
    """Pattern encoder, subject encoder, shared decoder and discriminator in one module.

    Parameters
    ----------
    input_shape : tuple of int
        ``(F, H, W)``; H and W must be divisible by ``2 ** len(encoder_channels)`` (16 x 16 -> 2 x 2
        with three blocks; a 16 x 4 grid takes two).
    n_classes : int, optional
        Ignored (the model has no classifier); accepted so the model registry can build it.
    encoder_channels : sequence of int
        Encoder block widths (published 512, 256, 128); the latent has ``encoder_channels[-1]``
        channels.
    decoder_channels : sequence of int
        Decoder hidden widths (published 128, 64); one fewer stage than the encoder.
    disc_hidden : sequence of int
        Discriminator hidden widths (published 512, 256).
    dropout : float
        Encoder dropout (published 0.1).
    encoder_slope, decoder_slope : float
        LeakyReLU slopes (0.2 published; 0.01 = the source decoder's PyTorch default).
    decoder : str
        Decoder stage style: ``transpose`` (published) or ``upsample`` (:class:`Decoder`).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int | None = None,
        encoder_channels: Sequence[int] = (512, 256, 128),
        decoder_channels: Sequence[int] = (128, 64),
        disc_hidden: Sequence[int] = (512, 256),
        dropout: float = 0.1,
        encoder_slope: float = 0.2,
        decoder_slope: float = 0.01,
        decoder: str = "transpose",
    ) -> None:
        super().__init__()
        shape = tuple(int(v) for v in input_shape)
        if len(shape) != 3:
            raise ValueError(f"DisentangleNet expects input_shape (F, H, W), got {shape}")
        if len(decoder_channels) != len(encoder_channels) - 1:
            raise ValueError(
                "DisentangleNet: decoder_channels needs one entry fewer than encoder_channels "
                f"(got {tuple(decoder_channels)} and {tuple(encoder_channels)})"
            )
        f, h, w = shape
        factor = 2 ** len(encoder_channels)
        if h % factor or w % factor:
            raise ValueError(f"DisentangleNet: H and W must be divisible by {factor}, got {h} x {w}")
        self.input_shape = shape
        z = int(encoder_channels[-1])
        #: shape of one latent map (channels, h, w); flattened size is ``latent_dim``
        self.latent_shape: tuple[int, int, int] = (z, h // factor, w // factor)
        self.latent_dim = math.prod(self.latent_shape)
        self.encoder_p = Encoder(f, encoder_channels, dropout, encoder_slope)
        self.encoder_s = Encoder(f, encoder_channels, dropout, encoder_slope)
        self.decoder = Decoder(2 * z, decoder_channels, f, decoder_slope, style=decoder)
        self.discriminator = Discriminator(f * h * w, disc_hidden)

    def generator_parameters(self) -> list[nn.Parameter]:
        """Parameters of both encoders and the decoder (everything but the discriminator)."""
        return [
            *self.encoder_p.parameters(),
            *self.encoder_s.parameters(),
            *self.decoder.parameters(),
        ]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return latent maps ``(p, s)``, each (batch, *latent_shape)."""
        return self.encoder_p(x), self.encoder_s(x)

    def decode(self, p: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Decode ``[p, s]`` (latent maps or flattened latents) to (batch, F, H, W)."""
        p = p.reshape(p.shape[0], *self.latent_shape)
        s = s.reshape(s.shape[0], *self.latent_shape)
        return self.decoder(torch.cat([p, s], dim=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(reconstruction, p, s)``."""
        p, s = self.encode(x)
        return self.decode(p, s), p, s
