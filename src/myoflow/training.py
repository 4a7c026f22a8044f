"""Training: seeding, a scikit-learn-style wrapper for registry models, losses, disentanglement.

- :func:`set_seed` makes runs repeatable (Python, NumPy, torch) and sets the thread count.
- :class:`TorchClassifier` trains any classifier of :mod:`myoflow.models` with the
  ``fit / predict / predict_proba / transform`` contract, early stopping and atomic save/load.
- Losses of the cross-user study live in ``LOSSES``; each is a function
  ``loss(logits, labels, embeddings, users, *, <keyword-only params>) -> scalar tensor``.
  Register a new one with ``@register_loss("name")``; keyword-only parameters become config
  values (validated by :func:`make_loss`). A loss that declares a keyword-only ``epoch``
  receives the current 0-based epoch from :class:`TorchClassifier` (for weight ramps).
- :func:`train_disentangle`, :func:`encode_latents`, :func:`reconstruct`: the dual-encoder
  pattern/subject disentanglement study.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import random
import time
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from myoflow.errors import ConfigError
from myoflow.io import atomic_path
from myoflow.models import build_model
from myoflow.models.disentangle import DisentangleNet

__all__ = [
    "set_seed",
    "resolve_device",
    "LOSSES",
    "register_loss",
    "make_loss",
    "ce_loss",
    "cvar_loss",
    "TorchClassifier",
    "DISENTANGLE_DEFAULTS",
    "train_disentangle",
    "encode_latents",
    "reconstruct",
]


# ---------------------------------------------------------------------------------------------
# reproducibility and devices


def set_seed(seed: int, threads: int | None = None, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch; optionally fix the torch thread count.

    Parameters
    ----------
    seed : int
        Seed for ``random``, ``numpy.random`` and torch (CPU and CUDA).
    threads : int, optional
        If given, ``torch.set_num_threads(threads)`` (Snakemake's ``threads`` for the job).
    deterministic : bool
        Ask torch for deterministic kernels (``warn_only``: an op without a deterministic
        version warns instead of failing) and switch off cuDNN autotuning. On CPU this costs
        nothing; on GPU a few scatter-type ops get slower.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(int(threads))
    if deterministic:
        # cuBLAS needs this before its first use to be deterministic; harmless on CPU
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return ``cuda`` when available for ``"auto"``, else the device named."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ---------------------------------------------------------------------------------------------
# losses of the cross-user study

LossFn = Callable[..., torch.Tensor]

#: name -> loss function ``(logits, labels, embeddings, users, *, params) -> scalar``.
LOSSES: dict[str, LossFn] = {}


def register_loss(name: str) -> Callable[[LossFn], LossFn]:
    """Decorator that adds a loss function to ``LOSSES`` under ``name``."""

    def deco(fn: LossFn) -> LossFn:
        LOSSES[name] = fn
        return fn

    return deco


def _keyword_params(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return {
        p.name: p for p in inspect.signature(fn).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def make_loss(name: str, **params: Any) -> LossFn:
    """Return the registered loss ``name`` with its keyword parameters bound.

    Parameters
    ----------
    name : str
        A key of ``LOSSES``.
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
    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}; known losses: {', '.join(sorted(LOSSES))}")
    fn = LOSSES[name]
    known = set(_keyword_params(fn)) - {"epoch"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for loss {name!r}; "
            f"known parameters: {', '.join(sorted(known)) or '(none)'}"
        )
    bound = functools.partial(fn, **params)
    functools.update_wrapper(bound, fn)
    return bound


@register_loss("ce")
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


@register_loss("cvar")
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


# ---------------------------------------------------------------------------------------------
# scikit-learn style classifier

_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
_SCHEDULERS = ("plateau", "cosine", None)


def _as_tensor(X: np.ndarray | torch.Tensor) -> torch.Tensor:
    """CPU tensor view of X; integer data (Myo int8) stays compact and is cast per batch."""
    t = torch.as_tensor(np.ascontiguousarray(X)) if not isinstance(X, torch.Tensor) else X.cpu()
    if t.dtype == torch.float64:
        t = t.float()
    return t


def _plain(value: Any) -> Any:
    """NumPy scalars/arrays inside parameters -> Python values, so ``weights_only`` loading accepts them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return value


def _forward(model: nn.Module, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(logits, embeddings or None) in one pass where the model supports it."""
    if hasattr(model, "forward_with_embedding"):
        return model.forward_with_embedding(xb)
    return model(xb), None


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """scikit-learn classifier around any classification model of :mod:`myoflow.models`.

    Parameters
    ----------
    model : str
        Registry name (``mhcnn``, ``cnn``, ``lstm``, ``mlp``, ``mobilenetv2``).
    model_params : dict, optional
        Architecture parameters passed to :func:`myoflow.models.build_model`.
    loss : str
        Key of ``LOSSES`` (``ce``, ``cvar``, ...).
    loss_params : dict, optional
        Keyword parameters of the loss. ``label_smoothing`` below is passed to losses that accept it.
    optimizer : {"adam", "adamw"}
    lr, weight_decay : float
    batch_size : int
    max_epochs : int
    patience : int or None
        Early stopping on validation loss after ``patience`` epochs without improvement;
        None = train all epochs. Whenever validation data are given, the weights of the
        best validation epoch are restored at the end.
    scheduler : {"plateau", "cosine", None}
        ``plateau``: ReduceLROnPlateau on validation loss (training loss without validation data),
        factor 0.6, patience 7, min lr 1e-6. ``cosine``: CosineAnnealingLR(T_max=max_epochs).
    grad_clip : float or None
        Max gradient norm (1.0 in the cross-user study).
    label_smoothing : float
    seed : int
    threads : int, optional
        torch CPU threads.
    input_scale : float
        Inputs are multiplied by this per batch (1/128 for Myo int8).
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
    amp : bool
        bfloat16 autocast on CUDA (ignored on CPU).
    deterministic : bool
        See :func:`set_seed`.
    eval_batch_size : int
        Batch size for validation, prediction and embeddings.

    Attributes
    ----------
    model_ : torch.nn.Module
    classes_ : numpy.ndarray
    input_shape_ : tuple
    history_ : list of dict
        One dict per epoch: ``epoch``, ``train_loss``, ``val_loss`` (mean CE without label
        smoothing, None without validation data), ``val_accuracy``, ``lr``, ``seconds``.
    best_epoch_ : int or None
        0-based epoch whose weights were restored.

    Notes
    -----
    The validation loss that drives early stopping and the plateau scheduler is plain mean
    cross-entropy for every training loss, so model selection is comparable across losses.
    """

    def __init__(
        self,
        model: str = "mhcnn",
        model_params: dict | None = None,
        loss: str = "ce",
        loss_params: dict | None = None,
        optimizer: str = "adam",
        lr: float = 5e-4,
        weight_decay: float = 0.0,
        batch_size: int = 2048,
        max_epochs: int = 300,
        patience: int | None = 15,
        scheduler: str | None = "plateau",
        grad_clip: float | None = 1.0,
        label_smoothing: float = 0.0,
        seed: int = 13,
        threads: int | None = None,
        input_scale: float = 1.0,
        device: str = "auto",
        amp: bool = True,
        deterministic: bool = True,
        eval_batch_size: int = 8192,
    ) -> None:
        self.model = model
        self.model_params = model_params
        self.loss = loss
        self.loss_params = loss_params
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.scheduler = scheduler
        self.grad_clip = grad_clip
        self.label_smoothing = label_smoothing
        self.seed = seed
        self.threads = threads
        self.input_scale = input_scale
        self.device = device
        self.amp = amp
        self.deterministic = deterministic
        self.eval_batch_size = eval_batch_size

    # -- helpers ------------------------------------------------------------------------------

    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _autocast(self, device: torch.device):
        enabled = bool(self.amp) and device.type == "cuda"
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)

    def _batch(self, Xt: torch.Tensor, idx: torch.Tensor | slice, device: torch.device) -> torch.Tensor:
        xb = Xt[idx].to(device, non_blocking=True).float()
        return xb * self.input_scale if self.input_scale != 1.0 else xb

    def _make_loss(self) -> tuple[LossFn, bool]:
        params = dict(self.loss_params or {})
        if self.loss not in LOSSES:
            make_loss(self.loss)  # raises with the list of known losses
        kw = _keyword_params(LOSSES[self.loss])
        if "label_smoothing" in kw:
            params.setdefault("label_smoothing", float(self.label_smoothing))
        elif self.label_smoothing:
            raise ConfigError(f"loss {self.loss!r} does not support label_smoothing")
        return make_loss(self.loss, **params), "epoch" in kw

    def _encode_labels(self, y: np.ndarray, what: str) -> torch.Tensor:
        y = np.asarray(y)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[idx], y):
            bad = sorted(set(np.unique(y).tolist()) - set(self.classes_.tolist()))
            raise ValueError(f"{what} contains labels not seen in training: {bad[:10]}")
        return torch.as_tensor(idx, dtype=torch.long)

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("TorchClassifier is not fitted; call fit() or load() first")

    @torch.no_grad()
    def _val_metrics(self, Xv: torch.Tensor, yv: torch.Tensor, device: torch.device) -> tuple[float, float]:
        self.model_.eval()
        total, correct = 0.0, 0
        for start in range(0, len(Xv), self.eval_batch_size):
            sl = slice(start, start + self.eval_batch_size)
            with self._autocast(device):
                logits = self.model_(self._batch(Xv, sl, device)).float()
            yb = yv[sl].to(device)
            total += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.argmax(1) == yb).sum().item())
        return total / len(Xv), correct / len(Xv)

    # -- scikit-learn API -----------------------------------------------------------------------

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        users: np.ndarray | None = None,
        users_val: np.ndarray | None = None,
    ) -> "TorchClassifier":
        """Train from scratch.

        Parameters
        ----------
        X : ndarray, shape (n, *input_shape)
            Windows (any numeric dtype; cast to float32 and scaled by ``input_scale`` per batch).
        y : ndarray, shape (n,)
            Labels (any sortable values).
        X_val, y_val : ndarray, optional
            Validation data for early stopping, the plateau scheduler and best-weight restore.
        users : ndarray, shape (n,), optional
            User id per training window, handed to losses that use it (sbj, trp, grl).
        users_val : ndarray, optional
            Accepted for symmetry; validation loss is plain cross-entropy and ignores users.

        Returns
        -------
        self
        """
        if self.optimizer not in _OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; known: {', '.join(_OPTIMIZERS)}")
        if self.scheduler not in _SCHEDULERS:
            raise ConfigError(f"unknown scheduler {self.scheduler!r}; known: plateau, cosine, None")
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        X = np.asarray(X)
        y = np.asarray(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        set_seed(int(self.seed), self.threads, self.deterministic)
        device = self._device()
        loss_fn, wants_epoch = self._make_loss()

        self.classes_ = np.unique(y)
        self.input_shape_ = tuple(int(v) for v in X.shape[1:])
        self.model_ = build_model(self.model, self.input_shape_, len(self.classes_), **(self.model_params or {}))
        self.model_.to(device)

        Xt, yt = _as_tensor(X), self._encode_labels(y, "y")
        # users as integer codes 0..U-1, whatever their original type
        ut = torch.as_tensor(np.unique(np.asarray(users), return_inverse=True)[1]) if users is not None else None
        has_val = X_val is not None
        if has_val:
            Xv, yv = _as_tensor(np.asarray(X_val)), self._encode_labels(np.asarray(y_val), "y_val")

        opt = _OPTIMIZERS[self.optimizer](self.model_.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        if self.scheduler == "plateau":
            sched: Any = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.6, patience=7, min_lr=1e-6)
        elif self.scheduler == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(self.max_epochs))
        else:
            sched = None
        # a private generator: the shuffling order depends on the seed only, not on other RNG users
        gen = torch.Generator().manual_seed(int(self.seed))

        self.history_: list[dict[str, Any]] = []
        self.best_epoch_: int | None = None
        best_loss, best_state, wait = math.inf, None, 0
        n = len(Xt)
        for epoch in range(int(self.max_epochs)):
            t0 = time.perf_counter()
            self.model_.train()
            perm = torch.randperm(n, generator=gen)
            running = 0.0
            for start in range(0, n, int(self.batch_size)):
                idx = perm[start : start + int(self.batch_size)]
                xb = self._batch(Xt, idx, device)
                yb = yt[idx].to(device)
                ub = ut[idx].to(device) if ut is not None else None
                with self._autocast(device):
                    logits, emb = _forward(self.model_, xb)
                kwargs = {"epoch": epoch} if wants_epoch else {}
                loss = loss_fn(logits.float(), yb, None if emb is None else emb.float(), ub, **kwargs)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.grad_clip:
                    nn.utils.clip_grad_norm_(self.model_.parameters(), float(self.grad_clip))
                opt.step()
                running += loss.item() * len(idx)
            train_loss = running / n
            val_loss = val_acc = None
            if has_val:
                val_loss, val_acc = self._val_metrics(Xv, yv, device)
            lr_now = opt.param_groups[0]["lr"]
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(val_loss if has_val else train_loss)
            elif sched is not None:
                sched.step()
            self.history_.append(
                {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "val_accuracy": val_acc,
                    "lr": float(lr_now),
                    "seconds": time.perf_counter() - t0,
                }
            )
            if has_val:
                if val_loss < best_loss:
                    best_loss, wait, self.best_epoch_ = val_loss, 0, epoch
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model_.state_dict().items()}
                else:
                    wait += 1
                    if self.patience is not None and wait >= int(self.patience):
                        break
        if best_state is not None:
            self.model_.load_state_dict(best_state)
        self.model_.eval()
        return self

    @torch.no_grad()
    def _logits(self, X: np.ndarray) -> torch.Tensor:
        self._check_fitted()
        device = next(self.model_.parameters()).device
        self.model_.eval()
        Xt = _as_tensor(np.asarray(X))
        out = []
        for start in range(0, len(Xt), self.eval_batch_size):
            with self._autocast(device):
                out.append(self.model_(self._batch(Xt, slice(start, start + self.eval_batch_size), device)).float().cpu())
        return torch.cat(out) if out else torch.empty(0, len(self.classes_))

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Return logits, shape (n, n_classes)."""
        return self._logits(X).numpy()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Return class probabilities, shape (n, n_classes), columns ordered as ``classes_``."""
        return torch.softmax(self._logits(X), dim=1).numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return predicted labels, shape (n,)."""
        return self.classes_[self._logits(X).argmax(1).numpy()]

    @torch.no_grad()
    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return the model's embeddings (``model.embed``), shape (n, embed_dim).

        Raises
        ------
        ValueError
            If the model has no ``embed`` method.
        """
        self._check_fitted()
        if not hasattr(self.model_, "embed"):
            raise ValueError(f"model {self.model!r} has no embedding (no embed method)")
        device = next(self.model_.parameters()).device
        self.model_.eval()
        Xt = _as_tensor(np.asarray(X))
        out = []
        for start in range(0, len(Xt), self.eval_batch_size):
            with self._autocast(device):
                xb = self._batch(Xt, slice(start, start + self.eval_batch_size), device)
                out.append(self.model_.embed(xb).float().cpu())
        return torch.cat(out).numpy()

    # -- persistence ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write weights, constructor parameters, classes and history atomically (torch format)."""
        self._check_fitted()
        payload = {
            "format": "myoflow.TorchClassifier",
            "version": 1,
            "params": _plain(self.get_params(deep=False)),
            "classes": self.classes_.tolist(),
            "input_shape": list(self.input_shape_),
            "state_dict": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
            "history": _plain(self.history_),
            "best_epoch": self.best_epoch_,
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> "TorchClassifier":
        """Load a classifier written by :meth:`save`.

        Parameters
        ----------
        path : path-like
        device : str, optional
            Overrides the saved ``device`` parameter (e.g. ``"cpu"``).
        """
        # weights_only: the payload is tensors and plain Python values, nothing to unpickle
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != "myoflow.TorchClassifier":
            raise ValueError(f"{path} is not a saved TorchClassifier")
        params = dict(payload["params"])
        if device is not None:
            params["device"] = device
        est = cls(**params)
        est.classes_ = np.asarray(payload["classes"])
        est.input_shape_ = tuple(payload["input_shape"])
        est.history_ = payload["history"]
        est.best_epoch_ = payload["best_epoch"]
        est.model_ = build_model(est.model, est.input_shape_, len(est.classes_), **(est.model_params or {}))
        est.model_.load_state_dict(payload["state_dict"])
        est.model_.to(est._device()).eval()
        return est


# ---------------------------------------------------------------------------------------------
# disentanglement (pattern / subject components)

#: Defaults of :func:`train_disentangle` (published values; ``adversarial_weight`` is not
#: published and is our choice).
DISENTANGLE_DEFAULTS: dict[str, Any] = {
    "encoder_channels": (512, 256, 128),
    "decoder_channels": (128, 64),
    "disc_hidden": (512, 256),
    "dropout": 0.1,
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "step_size": 200,
    "gamma": 0.5,
    "epochs": 400,
    "batch_size": 512,
    "seed": 10,
    "threads": None,
    "device": "auto",
    "lambda1": 0.5,
    "lambda2": 1.0,
    "margin": 0.3,
    "adversarial_to_generator": True,
    "adversarial_weight": 0.01,
    "deterministic": True,
}


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
        Overrides of ``DISENTANGLE_DEFAULTS``: architecture (encoder_channels, decoder_channels,
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
    unknown = sorted(set(params or {}) - set(DISENTANGLE_DEFAULTS))
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for train_disentangle; "
            f"known parameters: {', '.join(sorted(DISENTANGLE_DEFAULTS))}"
        )
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
