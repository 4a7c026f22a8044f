"""The disentanglement study's training code: a dual-encoder network splits each electrode map into
a pattern (gesture) and a subject component, trained per leave-one-subject-out fold.

- :func:`train_disentangle` trains :class:`~myoflow.models.disentangle.DisentangleNet`;
  :func:`encode_latents` and :func:`reconstruct` use a trained one.
- :func:`run_disentangle_fold` does one fold (standardise with the training subjects, train, keep the
  latents and reconstructions of every sample) and returns a :class:`FoldModel` and an
  :class:`~myoflow.sets.ArraySet`; :func:`gesture_maps` averages a fold set's maps per gesture.

A fold's output has, for every sample of the fold (train and test, marked by the ``part`` column):
the pattern latent, the subject latent, the standardised input and the decoder's reconstructions
from the pattern part alone, D([p, 0]), and from the subject part alone, D([0, s]). Maps are in z
units of the training subjects (value minus the training mean, over the training sd), so what
differs between gestures is not drowned by the average map.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .io import atomic_path
from .models.disentangle import DisentangleNet
from .registry import Registry
from .seeding import resolve_device, set_seed
from .sets import ArraySet
from .splits import select

__all__ = [
    "RECIPES",
    "DisentangleParams",
    "DISENTANGLE_DEFAULTS",
    "train_disentangle",
    "encode_latents",
    "reconstruct",
    "TANH_RANGE_SCALE",
    "FoldModel",
    "run_disentangle_fold",
    "gesture_maps",
]

# the decoder ends in Tanh: inputs are z-scored with training statistics, then divided by this so
# nearly all values fall inside (-1, 1)
TANH_RANGE_SCALE = 3.0

#: training recipe name -> its parameters (a dataclass: fields are the config keys, with defaults)
RECIPES: Registry[Any] = Registry("training recipe")


@RECIPES.register("disentangle")
@dataclasses.dataclass(frozen=True)
class DisentangleParams:
    """Parameters of :func:`train_disentangle`.

    Published values, except ``adversarial_weight`` (not published; the config schema's
    ``disentangle.model`` default, which is the source of defaults) and ``seed`` (the workflow
    always passes its own).
    """

    encoder_channels: Sequence[int] = (512, 256, 128)
    decoder_channels: Sequence[int] = (128, 64)
    decoder: str = "transpose"
    disc_hidden: Sequence[int] = (512, 256)
    dropout: float = 0.1
    lr: float = 2e-3
    weight_decay: float = 1e-4
    step_size: int = 200
    gamma: float = 0.5
    epochs: int = 400
    batch_size: int = 512
    seed: int = 10
    threads: int | None = None
    device: str = "auto"
    lambda1: float = 0.5
    lambda2: float = 1.0
    margin: float = 0.3
    adversarial_to_generator: bool = True
    adversarial_weight: float = 0.001
    deterministic: bool = True


#: Defaults of :func:`train_disentangle` as a dict (see :class:`DisentangleParams`).
DISENTANGLE_DEFAULTS: dict[str, Any] = RECIPES.parameters("disentangle")


def _pick(valid: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of a boolean (B, B) matrix with a True entry, pick one True column uniformly.

    Returns (rows, columns). Uniform random scores masked to the valid entries, then argmax:
    one vectorised draw per batch instead of loops over (gesture, subject) groups.
    """
    rows = valid.any(dim=1).nonzero().squeeze(1)
    if rows.numel() == 0:
        return rows, rows
    scores = torch.rand(valid.shape, generator=gen)
    scores[~valid] = -1.0
    return rows, scores[rows].argmax(dim=1)


def _triplet(
    z: torch.Tensor, same: torch.Tensor, other: torch.Tensor, margin: float, gen: torch.Generator
) -> torch.Tensor:
    """Triplet loss on flattened latents: positive shares ``same`` but not ``other``, negative differs in ``same``.

    ``same`` and ``other`` are label vectors (CPU); pattern triplets pass (gesture, subject),
    subject triplets (subject, gesture).
    """
    eq_same = same[:, None] == same[None, :]
    eq_other = other[:, None] == other[None, :]
    pos_ok = eq_same & ~eq_other
    neg_ok = ~eq_same
    usable = pos_ok.any(1) & neg_ok.any(1)
    anchors = usable.nonzero().squeeze(1)
    if anchors.numel() == 0:
        return z.new_zeros(())
    _, pos = _pick(pos_ok[anchors], gen)
    _, neg = _pick(neg_ok[anchors], gen)
    dev = z.device
    return F.triplet_margin_loss(z[anchors.to(dev)], z[pos.to(dev)], z[neg.to(dev)], margin=margin, p=2)


def train_disentangle(
    X: np.ndarray,
    gesture: np.ndarray,
    subject: np.ndarray,
    params: Mapping[str, Any] | None = None,
) -> tuple[DisentangleNet, list[dict[str, Any]]]:
    """Train the pattern/subject disentanglement model.

    Generator loss per batch::

        MSE(D([p, s]), x)
        + lambda1 * (pattern triplet + subject triplet)
        + lambda2 * MSE(D([Ep(x_{g, other subject}), Es(x_{other gesture, s})]), x_{g, s})
        + adversarial_weight * BCE(Disc(D([p, s])), real)     # only if adversarial_to_generator

    Triplets (margin 0.3, L2 on flattened latents) and cross-reconstruction partners are drawn
    at random within the batch, one per anchor. The discriminator is trained on real vs
    reconstructed maps (BCE) with its own Adam; with ``adversarial_to_generator=False`` (as
    published) its loss never reaches the encoders or decoder.

    Parameters
    ----------
    X : ndarray, shape (n, F, H, W), float
        Standardised electrode maps (H, W = 16 for the published model).
    gesture, subject : ndarray of int, shape (n,)
    params : mapping, optional
        Overrides of :data:`DISENTANGLE_DEFAULTS`: architecture (encoder_channels, decoder_channels,
        disc_hidden, dropout), optimisation (lr, weight_decay, step_size [epochs], gamma, epochs,
        batch_size, seed, threads, device, deterministic), loss weights (lambda1, lambda2, margin,
        adversarial_to_generator, adversarial_weight).

    Returns
    -------
    model : DisentangleNet
        Trained model in eval mode, on the training device.
    history : list of dict
        Per epoch: ``epoch``, ``loss_g``, ``recon``, ``trip_p``, ``trip_s``, ``cross``,
        ``adv_g`` (generator's adversarial BCE, computed even when it is not applied),
        ``loss_d``, ``lr``, ``seconds``.

    Raises
    ------
    ValueError (:class:`myoflow.errors.ConfigError`)
        Unknown parameter names.
    """
    RECIPES.check_params("disentangle", params or {}, where="train_disentangle")
    p = {**DISENTANGLE_DEFAULTS, **(params or {})}
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 4:
        raise ValueError(f"X must be (n, F, H, W), got shape {X.shape}")
    g_all = torch.as_tensor(np.asarray(gesture), dtype=torch.long)
    s_all = torch.as_tensor(np.asarray(subject), dtype=torch.long)
    if not (len(X) == len(g_all) == len(s_all)):
        raise ValueError("X, gesture and subject must have the same length")

    set_seed(int(p["seed"]), p["threads"], bool(p["deterministic"]))
    device = resolve_device(p["device"])
    model = DisentangleNet(
        X.shape[1:],
        encoder_channels=p["encoder_channels"],
        decoder_channels=p["decoder_channels"],
        decoder=p["decoder"],
        disc_hidden=p["disc_hidden"],
        dropout=p["dropout"],
    ).to(device)
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
    opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
    sched_g = torch.optim.lr_scheduler.StepLR(opt_g, step_size=int(p["step_size"]), gamma=p["gamma"])
    sched_d = torch.optim.lr_scheduler.StepLR(opt_d, step_size=int(p["step_size"]), gamma=p["gamma"])
    gen = torch.Generator().manual_seed(int(p["seed"]))
    bce = nn.BCEWithLogitsLoss()
    Xt = torch.from_numpy(X)
    n, bs = len(Xt), int(p["batch_size"])
    lam1, lam2, margin = float(p["lambda1"]), float(p["lambda2"]), float(p["margin"])
    adv_on, adv_w = bool(p["adversarial_to_generator"]), float(p["adversarial_weight"])

    history: list[dict[str, Any]] = []
    keys = ("loss_g", "recon", "trip_p", "trip_s", "cross", "adv_g", "loss_d")
    for epoch in range(int(p["epochs"])):
        t0 = time.perf_counter()
        model.train()
        sums = dict.fromkeys(keys, 0.0)
        seen = 0
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            if len(idx) < 2:  # BatchNorm and triplets need at least two samples
                continue
            x = Xt[idx].to(device, non_blocking=True)
            g, s = g_all[idx], s_all[idx]  # labels stay on CPU for the sampling masks
            recon, zp, zs = model(x)
            fp, fs = zp.flatten(1), zs.flatten(1)
            l_rec = F.mse_loss(recon, x)
            l_tp = _triplet(fp, g, s, margin, gen)
            l_ts = _triplet(fs, s, g, margin, gen)
            # cross-reconstruction of target k = (gesture i, subject j) from the pattern of
            # (i, other subject) and the subject code of (other gesture, j)
            same_g = g[:, None] == g[None, :]
            same_s = s[:, None] == s[None, :]
            p_ok, s_ok = same_g & ~same_s, same_s & ~same_g
            targets = (p_ok.any(1) & s_ok.any(1)).nonzero().squeeze(1)
            if targets.numel() > 0:
                _, p_src = _pick(p_ok[targets], gen)
                _, s_src = _pick(s_ok[targets], gen)
                # reuse this batch's latents: same as re-encoding the partners, one pass cheaper
                cross = model.decode(zp[p_src.to(device)], zs[s_src.to(device)])
                l_cross = F.mse_loss(cross, x[targets.to(device)])
            else:
                l_cross = x.new_zeros(())
            real_lbl = torch.ones(len(idx), 1, device=device)
            fake_lbl = torch.zeros(len(idx), 1, device=device)
            l_adv = bce(model.discriminator(recon), real_lbl)
            loss_g = l_rec + lam1 * (l_tp + l_ts) + lam2 * l_cross
            if adv_on:
                loss_g = loss_g + adv_w * l_adv
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            # discriminator step on detached reconstructions; zero_grad also clears whatever
            # the generator's adversarial term left in the discriminator's gradients
            loss_d = 0.5 * (bce(model.discriminator(x), real_lbl) + bce(model.discriminator(recon.detach()), fake_lbl))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            for k, v in zip(keys, (loss_g, l_rec, l_tp, l_ts, l_cross, l_adv, loss_d)):
                sums[k] += float(v.detach()) * len(idx)
            seen += len(idx)
        lr_now = opt_g.param_groups[0]["lr"]
        sched_g.step()
        sched_d.step()
        rec = {"epoch": epoch, **{k: v / max(seen, 1) for k, v in sums.items()}}
        rec.update(lr=lr_now, seconds=time.perf_counter() - t0)
        history.append(rec)
    model.eval()
    return model, history


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_latents(
    model: DisentangleNet, X: np.ndarray, batch_size: int = 1024, flatten: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Encode maps into pattern and subject latents (eval mode).

    Parameters
    ----------
    model : DisentangleNet
    X : ndarray, shape (n, F, H, W)
    batch_size : int
    flatten : bool
        True: (n, latent_dim) each (512 with published widths); False: (n, C, h, w) maps.

    Returns
    -------
    xp, xs : ndarray of float32
    """
    model.eval()
    device = _model_device(model)
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    ps, ss = [], []
    for start in range(0, len(Xt), batch_size):
        zp, zs = model.encode(Xt[start : start + batch_size].to(device))
        ps.append(zp.cpu())
        ss.append(zs.cpu())
    shape = (model.latent_dim,) if flatten else model.latent_shape
    if not ps:
        empty = np.zeros((0, *shape), dtype=np.float32)
        return empty, empty.copy()
    xp, xs = torch.cat(ps).numpy(), torch.cat(ss).numpy()
    return xp.reshape(len(xp), *shape), xs.reshape(len(xs), *shape)


@torch.no_grad()
def reconstruct(
    model: DisentangleNet,
    xp: np.ndarray | None,
    xs: np.ndarray | None,
    part: str = "both",
    batch_size: int = 1024,
) -> np.ndarray:
    """Decode latents: ``pattern`` = D([p, 0]), ``subject`` = D([0, s]), ``both`` = D([p, s]).

    Parameters
    ----------
    model : DisentangleNet
    xp, xs : ndarray, shape (n, latent_dim) or (n, C, h, w)
        Pattern and subject latents from :func:`encode_latents`; the unused one may be None.
    part : {"pattern", "subject", "both"}
    batch_size : int

    Returns
    -------
    ndarray of float32, shape (n, F, H, W)
    """
    if part not in ("pattern", "subject", "both"):
        raise ValueError(f"part must be 'pattern', 'subject' or 'both', got {part!r}")
    need_p, need_s = part in ("pattern", "both"), part in ("subject", "both")
    if (need_p and xp is None) or (need_s and xs is None):
        raise ValueError(f"part {part!r} needs {'xp' if need_p and xp is None else 'xs'}")
    model.eval()
    device = _model_device(model)
    ref = xp if xp is not None else xs
    n = len(ref)
    zp = torch.as_tensor(np.asarray(xp, dtype=np.float32)).reshape(n, -1) if need_p else None
    zs = torch.as_tensor(np.asarray(xs, dtype=np.float32)).reshape(n, -1) if need_s else None
    out = []
    for start in range(0, n, batch_size):
        sl = slice(start, start + batch_size)
        m = len(range(*sl.indices(n)))
        zeros = torch.zeros(m, model.latent_dim, device=device)
        p = zp[sl].to(device) if zp is not None else zeros
        s = zs[sl].to(device) if zs is not None else zeros
        out.append(model.decode(p, s).cpu())
    if not out:
        return np.zeros((0, *model.input_shape), dtype=np.float32)
    return torch.cat(out).numpy()


# ---------------------------------------------------------------------------------------------
# one fold of the study


class FoldModel:
    """A trained disentanglement network with the standardisation it was trained with."""

    def __init__(self, net, mean: np.ndarray, scale: np.ndarray, params: dict, history: list):
        self.net, self.mean, self.scale, self.params, self.history = net, mean, scale, params, history

    def save(self, path: str | os.PathLike) -> None:
        with atomic_path(path) as tmp:
            torch.save({"state_dict": self.net.state_dict(), "mean": self.mean, "scale": self.scale,
                        "params": self.params, "history": self.history}, tmp)


def run_disentangle_fold(
    samples: ArraySet, folds: pd.DataFrame, fold: int, params: dict, seed: int, threads: int = 1
) -> tuple[FoldModel, ArraySet]:
    """Train on the fold's training subjects; return the model and the latents of all its samples."""
    set_seed(seed, threads=threads)
    X = samples.arrays["samples"].astype(np.float32)
    meta = samples.meta
    train = select(meta, folds, fold, "train")
    test = select(meta, folds, fold, "test")
    if not train.any() or not test.any():
        raise ValueError(f"fold {fold}: {train.sum()} training and {test.sum()} test samples; need both")
    # standardise with statistics of the training subjects only
    mean = X[train].mean(axis=0, keepdims=True)
    scale = TANH_RANGE_SCALE * (X[train].std(axis=0, keepdims=True) + 1e-8)
    Z = (X - mean) / scale
    net, history = train_disentangle(
        Z[train], meta["label"].to_numpy()[train], meta["subject"].to_numpy()[train],
        {**params, "seed": seed, "threads": threads},
    )
    keep = train | test
    Zk = Z[keep]
    xp, xs = encode_latents(net, Zk)
    recon_p = reconstruct(net, xp, xs, "pattern") * TANH_RANGE_SCALE
    recon_s = reconstruct(net, xp, xs, "subject") * TANH_RANGE_SCALE
    m = meta[keep].reset_index(drop=True).copy()
    m["part"] = np.where(train[keep], "train", "test")
    m["fold"] = fold
    latents = ArraySet(
        {"pattern": xp.astype(np.float32), "subject": xs.astype(np.float32),
         "input_z": (Zk * TANH_RANGE_SCALE).astype(np.float32),
         "recon_pattern": recon_p.astype(np.float32), "recon_subject": recon_s.astype(np.float32)},
        m, {**samples.attrs, "fold": fold, "model": params, "seed": seed},
    )
    return FoldModel(net, mean, scale, params, history), latents


def gesture_maps(latent_sets: list[ArraySet], array: str = "recon_pattern") -> tuple[np.ndarray, list[int]]:
    """Mean map per gesture over the held-out subjects of all folds -> (gestures, rows, cols).

    ``array``: ``recon_pattern`` (D([p, 0])), ``recon_subject`` or ``input_z`` (the data).
    Values per electrode are averaged over the measure's F values (e.g. RMS frames).
    """
    maps, labels = [], []
    for s in latent_sets:
        test = (s.meta["part"] == "test").to_numpy()
        maps.append(s.arrays[array][test].mean(axis=1))  # (n, rows, cols)
        labels.append(s.meta["label"].to_numpy()[test])
    maps_all, labels_all = np.concatenate(maps), np.concatenate(labels)
    gestures = sorted(int(g) for g in np.unique(labels_all))
    return np.stack([maps_all[labels_all == g].mean(axis=0) for g in gestures]), gestures


#: how the correlation array's cells are formed (see :func:`correlation_array`)
CORRELATION_MODES = ("cross_subject", "gesture_means")


def correlation_array(latent_sets: list[ArraySet], array: str = "recon_pattern",
                      mode: str = "cross_subject") -> tuple[np.ndarray, list[int]]:
    """|Pearson r| between gesture maps of the held-out subjects, with an ``avg`` row and column.

    Parameters
    ----------
    latent_sets : list of ArraySet
        Fold latents (:func:`run_disentangle_fold`); their ``test`` rows are used.
    array : str
        ``recon_pattern`` (D([p, 0])), ``recon_subject`` or ``input_z``.
    mode : {"cross_subject", "gesture_means"}
        ``cross_subject`` (default): cell (g, h) is the mean over ordered pairs of different
        subjects (a, b) of |r(map of g by a, map of h by b)|, so the diagonal says how alike one
        gesture's pattern is across people and the off-diagonal how alike two gestures are, on
        the same footing. ``gesture_means`` (the source's step2_confusion_array_plot.py): |r|
        between subject-averaged gesture maps, diagonal 1 by definition.

    Returns
    -------
    matrix : ndarray, shape (G + 1, G + 1)
        Cells for the G gestures; the last row and column hold each gesture's mean
        off-diagonal |r|, the corner the mean over all off-diagonal cells. (The source's corner
        averaged ``corr2d[:-2, -1]``, leaving out the last gesture.)
    gestures : list of int
    """
    if mode not in CORRELATION_MODES:
        raise ValueError(f"correlation mode {mode!r} unknown; expected one of {CORRELATION_MODES}")
    maps, labels, subjects = [], [], []
    for s in latent_sets:
        test = (s.meta["part"] == "test").to_numpy()
        maps.append(s.arrays[array][test].reshape(int(test.sum()), -1))
        labels.append(s.meta["label"].to_numpy()[test])
        subjects.append(s.meta["subject"].to_numpy()[test])
    X, y, subj = np.concatenate(maps), np.concatenate(labels), np.concatenate(subjects)
    gestures = sorted(int(g) for g in np.unique(y))
    G = len(gestures)

    def absr(a: np.ndarray, b: np.ndarray) -> float:
        return float(abs(np.corrcoef(a, b)[0, 1]))

    m = np.zeros((G + 1, G + 1))
    if mode == "gesture_means":
        means = [X[y == g].mean(axis=0) for g in gestures]
        for i in range(G):
            for j in range(G):
                m[i, j] = 1.0 if i == j else absr(means[i], means[j])
    else:
        people = sorted(int(p) for p in np.unique(subj))
        if len(people) < 2:
            raise ValueError(f"the cross-subject correlation array needs >= 2 held-out subjects, got {people}")
        cell = {(p, g): X[(subj == p) & (y == g)].mean(axis=0) for p in people for g in gestures
                if ((subj == p) & (y == g)).any()}
        for i, g in enumerate(gestures):
            for j, h in enumerate(gestures):
                rs = [absr(cell[a, g], cell[b, h]) for a in people for b in people
                      if a != b and (a, g) in cell and (b, h) in cell]
                m[i, j] = float(np.mean(rs)) if rs else np.nan
    off = ~np.eye(G, dtype=bool)
    for i in range(G):
        m[i, G] = m[G, i] = np.nanmean(m[i, :G][off[i]])
    m[G, G] = np.nanmean(m[:G, :G][off])
    return m, gestures
