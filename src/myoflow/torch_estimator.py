"""A scikit-learn classifier around the torch models of :mod:`myoflow.models`.

:class:`TorchClassifier` trains any registered classification model with the
``fit / predict / predict_proba / transform`` contract, early stopping and atomic save/load. Its
loss is a name of :data:`myoflow.losses.LOSSES`; user ids given to ``fit`` as ``groups`` reach the
loss as its ``users`` argument (for losses that use the subject, e.g. to penalise user identity).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import math
import os
import time
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConfigError
from .io import atomic_path
from .losses import LOSSES, PER_STEP_RAMP, LossFn, make_loss
from .models import MODELS, build_model
from .registry import Registry
from .seeding import resolve_device, set_seed

__all__ = ["TorchClassifier", "OPTIMIZERS", "SCHEDULERS", "SELECTIONS", "state_digest", "read_history"]

log = logging.getLogger("myoflow.training")

#: how the weights kept at the end of training are chosen (with validation data; without it the
#: last epoch's weights are kept whatever this says)
SELECTIONS = ("val_loss", "val_accuracy", "last")

#: how training batches are drawn: shuffled windows, or classes x users x samples
#: (:class:`myoflow.samplers.TripletBatchSampler`, what the ``trp`` loss needs)
SAMPLERS = ("random", "triplet")

#: class weights handed to the loss (``None``: unweighted)
CLASS_WEIGHTS = (None, "balanced")

#: name -> optimizer class ``(parameters, lr=..., weight_decay=...)``.
OPTIMIZERS: Registry[Any] = Registry("optimizer")
OPTIMIZERS.register("adam", torch.optim.Adam)
OPTIMIZERS.register("adamw", torch.optim.AdamW)

#: name -> ``(optimizer, max_epochs) -> scheduler``; ``scheduler=None`` keeps the learning rate.
SCHEDULERS: Registry[Any] = Registry("scheduler")


@SCHEDULERS.register("plateau")
def _plateau(opt: torch.optim.Optimizer, max_epochs: int) -> Any:
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.6, patience=7, min_lr=1e-6)


@SCHEDULERS.register("cosine")
def _cosine(opt: torch.optim.Optimizer, max_epochs: int) -> Any:
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(max_epochs))


#: ``cpu_kernels`` values: PyTorch's own modules, or the faster CPU forms below
CPU_KERNELS = ("torch", "fast")


class _ChannelsLastConv1d(nn.Conv1d):
    """A Conv1d computed as a (1 x k) Conv2d on a channels-last input: the same weights, the same
    math (to float32 rounding), about 1.8x faster forward + backward on CPU (oneDNN's channels-last
    kernels; measured on MHCNN's layers, batch 2048). Swapped in by class, so parameter names and
    the saved state dict are unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x4 = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        out = F.conv2d(x4, self.weight.unsqueeze(2), self.bias, (1, self.stride[0]), (0, self.padding[0]),
                       (1, self.dilation[0]), self.groups)
        return out.squeeze(2)


class _FastDropout(nn.Dropout):
    """Dropout whose mask comes from 16-bit slices of 64-bit random integers: four mask elements
    per generator call instead of one (PyTorch's CPU ``bernoulli_`` draws per element and was 30 %
    of MHCNN's training step). Keep probability ``round((1 - p) 65536) / 65536`` (within 8e-6 of
    ``1 - p``), kept values scaled by ``1 / (1 - p)`` as PyTorch does; seeded by the global
    generator like ``nn.Dropout``, but a different random stream."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        n = x.numel()
        threshold = int(round((1.0 - self.p) * 65536)) - 32768
        bits = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64, device=x.device)
        keep = bits.view(torch.int16)[:n].view(x.shape) < threshold
        return x * torch.where(keep, 1.0 / (1.0 - self.p), 0.0).to(x.dtype)


def _swap_cpu_kernels(model: nn.Module, fast: bool) -> None:
    """Swap plain Conv1d / Dropout modules to their fast CPU forms (``fast``) or back."""
    swaps = ({nn.Conv1d: _ChannelsLastConv1d, nn.Dropout: _FastDropout} if fast
             else {_ChannelsLastConv1d: nn.Conv1d, _FastDropout: nn.Dropout})
    for module in model.modules():
        new = swaps.get(type(module))
        if new is _ChannelsLastConv1d and (module.padding_mode != "zeros" or isinstance(module.padding, str)):
            continue  # only explicit zero padding maps onto conv2d's padding argument
        if new is not None:
            module.__class__ = new


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


def state_digest(model: nn.Module) -> str:
    """SHA-256 of a model's parameters and buffers (names and values): equal digests, equal weights."""
    h = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _forward(model: nn.Module, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(logits, embeddings or None) in one pass where the model supports it."""
    if hasattr(model, "forward_with_embedding"):
        return model.forward_with_embedding(xb)
    return model(xb), None


class _Params:
    """The parts of scikit-learn's estimator contract the workflow uses (``get_params`` /
    ``set_params`` from the constructor's signature, ``score``), without importing scikit-learn:
    its ~1 s import would be paid by every torch job. ``sklearn.base.clone`` works on it (it
    duck-types on ``get_params``)."""

    _estimator_type = "classifier"

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any):
        known = set(self._param_names())
        for name, value in params.items():
            if name not in known:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; known: {sorted(known)}")
            setattr(self, name, value)
        return self

    def score(self, X, y) -> float:
        """Mean accuracy on (X, y), as scikit-learn's ClassifierMixin."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def __repr__(self) -> str:
        defaults = {n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = {k: v for k, v in self.get_params().items() if defaults.get(k) is not v and defaults.get(k) != v}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


class TorchClassifier(_Params):
    """scikit-learn-style classifier around any classification model of :mod:`myoflow.models`.

    Parameters
    ----------
    model : str
        Registry name (``mhcnn``, ``cnn``, ``lstm``, ``mlp``, ``mobilenetv2``).
    model_params : dict, optional
        Architecture parameters passed to :func:`myoflow.models.build_model`.
    loss : str
        Name registered on :data:`myoflow.losses.LOSSES` (``ce``, ``cvar``, ...).
    loss_params : dict, optional
        Keyword parameters of the loss, checked against its signature (an unknown one raises
        ConfigError naming it). ``label_smoothing`` below is passed to losses that accept it
        unless ``loss_params`` sets it.
    optimizer : {"adam", "adamw"}
        A name of :data:`OPTIMIZERS`.
    lr, weight_decay : float
    batch_size : int
    max_epochs : int
    patience : int or None
        Early stopping on validation loss after ``patience`` epochs without improvement;
        None = train all epochs. Whenever validation data are given, the weights of the
        epoch chosen by ``selection`` are restored at the end.
    min_epochs : int
        Epochs always trained before early stopping may stop (and before an epoch may be chosen
        by ``selection``), so one noisy validation user cannot stop a model at epoch 0.
    selection : {"val_loss", "val_accuracy", "last"}
        With validation data, which weights are kept: the epoch of lowest validation loss, of
        highest validation accuracy (ties: the earliest; the HD-CNN source did this with its
        *test* set, see ``myoflow.defects``), or the last epoch's.
    init_from : str, optional
        A model file written by :meth:`save` whose weights start training instead of a fresh
        seeded initialisation (fine-tuning; also the HD-CNN source's weights carried over from
        the previous fold). Its architecture and classes must equal this one's. With
        ``standardize``, its input statistics are kept too (the weights expect them).
    class_weight : {None, "balanced"}
        ``balanced``: per-class weights ``n / (n_classes * n_c)`` of the training labels
        (scikit-learn's ``compute_class_weight("balanced")``, as the source passed to its LSTM, MLP
        and per-subject runs), handed to the loss as ``class_weight``.
    sampler : {None, "random", "triplet"}
        How training batches are drawn. ``random``: a fresh permutation each epoch. ``triplet``:
        classes x users x samples (:class:`~myoflow.samplers.TripletBatchSampler`, needs
        ``groups``), ``batch_size`` its nominal size. None: ``triplet`` for the ``trp`` loss (the
        source's ``train_triplet``), ``random`` otherwise.
    sampler_params : dict, optional
        Keyword values of the triplet sampler (``n_users``, ``n_samples``, ``min_samples``,
        ``cell_order``).
    cpu_kernels : {"torch", "fast"}
        ``fast``: on CPU, Conv1d layers run as channels-last (1 x k) Conv2d and Dropout draws its
        mask from 16-bit random slices (:class:`_ChannelsLastConv1d`, :class:`_FastDropout`);
        together ~1.5x faster MHCNN training (``bench/bench_training.py``). The architecture,
        parameters and saved weights are those of the named model; only dropout's random stream
        differs. ``torch``: PyTorch's modules as built. Ignored on GPU.
    standardize : bool
        Standardise inputs with the training rows' mean and sd per input element (after
        ``input_scale``); for hand-crafted feature inputs, whose features span orders of magnitude
        (the spec: "standardise with statistics from training users only"). Raw windows keep the
        bit-depth scaling alone, as published.
    freeze : list of str, optional
        Parameter-name prefixes (``stem``, ``stem_bn``, ``blocks.0``) kept fixed in training:
        no gradient, and their BatchNorm statistics are not updated.
    scheduler : {"plateau", "cosine", None}
        A name of :data:`SCHEDULERS`, or None for a constant learning rate.
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
    initial_digest_ : str
        :func:`state_digest` of the weights training started from (a fresh fold's does not
        depend on any other fold).
    fit_model_params_ : dict
        Model arguments set from the training data (``n_users`` of a model with a user head).
    input_mean_, input_std_ : ndarray or None
        The ``standardize`` statistics (None without it).

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
        min_epochs: int = 0,
        selection: str = "val_loss",
        init_from: str | None = None,
        freeze: Sequence[str] | None = None,
        class_weight: str | None = None,
        sampler: str | None = None,
        sampler_params: dict | None = None,
        standardize: bool = False,
        cpu_kernels: str = "torch",
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
        self.min_epochs = min_epochs
        self.selection = selection
        self.init_from = init_from
        self.freeze = freeze
        self.class_weight = class_weight
        self.sampler = sampler
        self.sampler_params = sampler_params
        self.standardize = standardize
        self.cpu_kernels = cpu_kernels

    # -- helpers ------------------------------------------------------------------------------

    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _autocast(self, device: torch.device):
        enabled = bool(self.amp) and device.type == "cuda"
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)

    def _batch(self, Xt: torch.Tensor, idx: torch.Tensor | slice, device: torch.device) -> torch.Tensor:
        xb = Xt[idx].to(device, non_blocking=True).float()
        xb = xb * self.input_scale if self.input_scale != 1.0 else xb
        stats = getattr(self, "_standardizer", None)
        if stats is not None:
            mean, std = stats
            if mean.device != xb.device:
                self._standardizer = mean, std = mean.to(xb.device), std.to(xb.device)
            xb = (xb - mean) / std
        return xb

    def _set_standardizer(self, mean: np.ndarray | None, std: np.ndarray | None) -> None:
        self.input_mean_, self.input_std_ = mean, std
        self._standardizer = None if mean is None else (torch.as_tensor(mean), torch.as_tensor(std))

    def _fit_standardizer(self, X: np.ndarray) -> None:
        """Mean and sd of every input element over the training rows (sd 0 -> 1: a constant input)."""
        if not self.standardize:
            self._set_standardizer(None, None)
            return
        scaled = np.asarray(X, dtype=np.float64) * float(self.input_scale)
        mean, std = scaled.mean(axis=0), scaled.std(axis=0)
        std[~(std > 0)] = 1.0
        self._set_standardizer(mean.astype(np.float32), std.astype(np.float32))

    def _resolved_sampler(self) -> str:
        name = self.sampler or ("triplet" if self.loss == "trp" else "random")
        if name not in SAMPLERS:
            raise ConfigError(f"sampler {name!r} is not one of {list(SAMPLERS)}")
        return name

    def _class_weights(self, y_codes: torch.Tensor) -> torch.Tensor | None:
        if self.class_weight not in CLASS_WEIGHTS:
            raise ConfigError(f"class_weight {self.class_weight!r} is not one of {list(CLASS_WEIGHTS)}")
        if self.class_weight is None:
            return None
        counts = torch.bincount(y_codes, minlength=len(self.classes_)).double()
        return (len(y_codes) / (len(self.classes_) * counts)).float()

    def _has_user_head(self) -> bool:
        """Whether the model has a user head over the training users (takes ``n_users``)."""
        return "n_users" in MODELS.parameters(str(self.model).lower())

    def _model_fit_params(self, groups: np.ndarray | None) -> dict[str, Any]:
        """Model arguments the training data fix: ``n_users`` for a model with a user head."""
        if not self._has_user_head():
            return {}
        if groups is None:
            raise ConfigError(f"model {self.model!r} has a user head over the training users: fit it with groups "
                              "(user ids)")
        n_users = len(np.unique(np.asarray(groups)))
        given = (self.model_params or {}).get("n_users")
        if given is not None and int(given) != n_users:
            raise ConfigError(f"model_params.n_users = {given}, but the training data have {n_users} users "
                              "(leave n_users out: it is set from the training users)")
        return {"n_users": n_users}

    def _build(self) -> nn.Module:
        params = {**(self.model_params or {}), **getattr(self, "fit_model_params_", {})}
        return build_model(self.model, self.input_shape_, len(self.classes_), **params)

    def _place(self, model: nn.Module, device: torch.device) -> nn.Module:
        """Move to ``device``; on CPU with ``cpu_kernels="fast"`` swap in the fast CPU modules."""
        if self.cpu_kernels not in CPU_KERNELS:
            raise ConfigError(f"cpu_kernels {self.cpu_kernels!r} is not one of {list(CPU_KERNELS)}")
        _swap_cpu_kernels(model, self.cpu_kernels == "fast" and device.type == "cpu")
        return model.to(device)

    def _batches(self, n: int, gen: torch.Generator, epoch: int, sampler) -> list[torch.Tensor]:
        if sampler is not None:
            return [torch.as_tensor(b) for b in sampler.batches(epoch)]
        perm = torch.randperm(n, generator=gen)
        return [perm[s : s + int(self.batch_size)] for s in range(0, n, int(self.batch_size))]

    def _make_loss(self) -> tuple[LossFn, set[str]]:
        """The bound loss and the call arguments it declares (epoch, user_head, class_weight)."""
        params = dict(self.loss_params or {})
        kw = LOSSES.parameters(self.loss)  # an unknown loss raises, listing the known ones
        if "user_head" in kw and not self._has_user_head():
            raise ConfigError(f"loss {self.loss!r} needs a model with a user head over the training users; "
                              f"model {self.model!r} has none (use model mhcnn_grl)")
        if self.class_weight is not None and "class_weight" not in kw:
            raise ConfigError(f"loss {self.loss!r} does not take class weights (class_weight: {self.class_weight!r})")
        if "label_smoothing" in kw:
            params.setdefault("label_smoothing", float(self.label_smoothing))
        elif self.label_smoothing:
            raise ConfigError(f"loss {self.loss!r} does not support label_smoothing")
        return make_loss(self.loss, **params), {k for k in ("epoch", "user_head", "class_weight") if k in kw}

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

    def _load_initial_weights(self, path: str) -> None:
        """Start from the weights of a saved TorchClassifier (fine-tuning / carried-over folds)."""
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != "myoflow.TorchClassifier":
            raise ValueError(f"init_from {path}: not a saved TorchClassifier")
        if list(payload["classes"]) != self.classes_.tolist():
            raise ValueError(f"init_from {path}: its classes {payload['classes']} differ from the training "
                             f"labels {self.classes_.tolist()}")
        try:
            self.model_.load_state_dict(payload["state_dict"])
        except RuntimeError as exc:
            raise ValueError(f"init_from {path}: its architecture differs from {self.model!r} "
                             f"{self.model_params or {}} on input {self.input_shape_} ({exc})") from exc
        # the weights were learnt on inputs standardised with the saved model's statistics: keep
        # those (a within-user fine-tune on one user's rows would otherwise shift every input)
        mean, std = payload.get("input_mean"), payload.get("input_std")
        if self.standardize and mean is not None:
            self._set_standardizer(mean.numpy(), std.numpy())

    def _freeze_parameters(self) -> list[nn.Module]:
        """Switch off gradients under the ``freeze`` prefixes; return the frozen modules."""
        prefixes = [str(p) for p in (self.freeze or [])]
        if not prefixes:
            return []
        names = [name for name, _ in self.model_.named_parameters()]
        for prefix in prefixes:
            if not any(n == prefix or n.startswith(prefix + ".") for n in names):
                tops = sorted({n.split(".")[0] for n in names})
                raise ConfigError(f"freeze: {prefix!r} names no parameter of model {self.model!r} "
                                  f"(its modules: {tops}; e.g. blocks.0 for the first block)")
        for name, param in self.model_.named_parameters():
            if any(name == p or name.startswith(p + ".") for p in prefixes):
                param.requires_grad_(False)
        return [m for name, m in self.model_.named_modules()
                if name and any(name == p or name.startswith(p + ".") for p in prefixes)
                and isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def _log_epoch(self, row: dict[str, Any], elapsed: float) -> None:
        """One line per epoch as it ends, so a user tailing the job log sees progress."""
        done = row["epoch"] + 1
        eta = elapsed / done * (int(self.max_epochs) - done)
        val = ("" if row["val_loss"] is None else
               f" val_loss {row['val_loss']:.4f} val_acc {row['val_accuracy']:.4f}")
        log.info("epoch %d/%d train_loss %.4f%s lr %.2e %.1f s (ETA %.0f s at most)", done,
                 int(self.max_epochs), row["train_loss"], val, row["lr"], row["seconds"], eta)

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
        groups: np.ndarray | None = None,
        groups_val: np.ndarray | None = None,
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
        groups : ndarray, shape (n,), optional
            User (subject) id per training window, handed to the loss as its ``users`` argument
            (integer codes 0..U-1 in sorted id order) for losses that use it; None passes None.
        groups_val : ndarray, optional
            Accepted for symmetry; validation loss is plain cross-entropy and ignores users.

        Returns
        -------
        self
        """
        optimizer_cls = OPTIMIZERS.get(self.optimizer)
        make_scheduler = None if self.scheduler is None else SCHEDULERS.get(self.scheduler)
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        if self.selection not in SELECTIONS:
            raise ConfigError(f"selection {self.selection!r} is not one of {list(SELECTIONS)}")
        X = np.asarray(X)
        y = np.asarray(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        if groups is not None and len(groups) != len(X):
            raise ValueError(f"X has {len(X)} samples but groups has {len(groups)}")
        set_seed(int(self.seed), self.threads, self.deterministic)
        device = self._device()
        loss_fn, call_args = self._make_loss()
        sampler_name = self._resolved_sampler()
        if sampler_name == "triplet" and groups is None:
            raise ConfigError("sampler 'triplet' builds batches as classes x users x samples: fit with groups (user ids)")

        self.classes_ = np.unique(y)
        self.input_shape_ = tuple(int(v) for v in X.shape[1:])
        self.fit_model_params_ = self._model_fit_params(groups)
        self.model_ = self._build()
        self._fit_standardizer(X)
        if self.init_from is not None:
            self._load_initial_weights(str(self.init_from))
        frozen = self._freeze_parameters()
        self.initial_digest_ = state_digest(self.model_)
        self._place(self.model_, device)

        Xt, yt = _as_tensor(X), self._encode_labels(y, "y")
        # user ids as integer codes 0..U-1, whatever their original type
        ut = torch.as_tensor(np.unique(np.asarray(groups), return_inverse=True)[1]) if groups is not None else None
        has_val = X_val is not None
        if has_val:
            Xv, yv = _as_tensor(np.asarray(X_val)), self._encode_labels(np.asarray(y_val), "y_val")

        trainable = [p for p in self.model_.parameters() if p.requires_grad]
        opt = optimizer_cls(trainable, lr=float(self.lr), weight_decay=float(self.weight_decay))
        sched = None if make_scheduler is None else make_scheduler(opt, int(self.max_epochs))
        # a private generator: the shuffling order depends on the seed only, not on other RNG users
        gen = torch.Generator().manual_seed(int(self.seed))
        sampler = None
        if sampler_name == "triplet":
            from .samplers import TripletBatchSampler

            sampler = TripletBatchSampler(yt.numpy(), ut.numpy(), batch_size=int(self.batch_size), seed=int(self.seed),
                                          **dict(self.sampler_params or {}))
            log.info("triplet batches: %d classes x %d users x %d samples = %d windows, %d batches per epoch",
                     sampler.n_classes, sampler.n_users, sampler.n_samples, sampler.batch_size, sampler.n_batches)
        loss_call: dict[str, Any] = {}
        if "user_head" in call_args:
            loss_call["user_head"] = self.model_.user_head
        if "class_weight" in call_args:
            weights = self._class_weights(yt)
            loss_call["class_weight"] = None if weights is None else weights.to(device)
        per_step_ramp = self.loss in PER_STEP_RAMP

        self.history_: list[dict[str, Any]] = []
        self.best_epoch_: int | None = None
        best_score, best_state, wait = math.inf, None, 0
        n = len(Xt)
        started = time.perf_counter()
        for epoch in range(int(self.max_epochs)):
            t0 = time.perf_counter()
            self.model_.train()
            for module in frozen:
                module.eval()  # frozen BatchNorm keeps its pretrained statistics
            batches = self._batches(n, gen, epoch, sampler)
            running, seen = 0.0, 0
            for step, idx in enumerate(batches):
                if len(idx) == 1 and n > 1:
                    continue  # a one-sample batch has no batch statistics (BatchNorm1d fails on it)
                xb = self._batch(Xt, idx, device)
                yb = yt[idx].to(device)
                ub = ut[idx].to(device) if ut is not None else None
                with self._autocast(device):
                    logits, emb = _forward(self.model_, xb)
                kwargs = dict(loss_call)
                if "epoch" in call_args:  # a fractional epoch for per-step ramps (grl), as the source
                    kwargs["epoch"] = epoch + step / len(batches) if per_step_ramp else epoch
                loss = loss_fn(logits.float(), yb, None if emb is None else emb.float(), ub, **kwargs)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.grad_clip:
                    nn.utils.clip_grad_norm_(trainable, float(self.grad_clip))
                opt.step()
                running += loss.item() * len(idx)
                seen += len(idx)
            train_loss = running / max(seen, 1)
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
            self._log_epoch(self.history_[-1], time.perf_counter() - started)
            if has_val and self.selection != "last":
                # lower is better for both scores (accuracy negated); ties keep the earlier epoch
                score = val_loss if self.selection == "val_loss" else -val_acc
                if score < best_score or epoch < int(self.min_epochs):
                    best_score, wait, self.best_epoch_ = score, 0, epoch
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model_.state_dict().items()}
                else:
                    wait += 1
                    if self.patience is not None and wait >= int(self.patience):
                        # epochs counted from 1, as in the per-epoch lines
                        log.info("early stop after epoch %d: no validation improvement in %d epochs; keeping "
                                 "epoch %d's weights", epoch + 1, wait, self.best_epoch_ + 1)
                        break
        if best_state is None:
            self.best_epoch_ = len(self.history_) - 1 if self.history_ else None
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
            "initial_digest": getattr(self, "initial_digest_", None),
            "fit_model_params": _plain(getattr(self, "fit_model_params_", {})),
            "input_mean": None if getattr(self, "input_mean_", None) is None else torch.as_tensor(self.input_mean_),
            "input_std": None if getattr(self, "input_std_", None) is None else torch.as_tensor(self.input_std_),
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
        est.initial_digest_ = payload.get("initial_digest")
        est.fit_model_params_ = dict(payload.get("fit_model_params") or {})
        mean, std = payload.get("input_mean"), payload.get("input_std")
        est._set_standardizer(None if mean is None else mean.numpy(), None if std is None else std.numpy())
        est.model_ = est._build()
        est.model_.load_state_dict(payload["state_dict"])
        est._place(est.model_, est._device()).eval()
        return est


def read_history(path: str | os.PathLike) -> tuple[list[dict[str, Any]], int | None]:
    """The per-epoch history and the kept epoch of a model file written by :meth:`TorchClassifier.save`,
    without building the model."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != "myoflow.TorchClassifier":
        raise ValueError(f"{path} is not a saved TorchClassifier")
    return list(payload["history"]), payload["best_epoch"]
