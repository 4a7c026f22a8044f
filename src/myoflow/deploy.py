"""Edge deployment of trained classifiers: ONNX export, ONNX Runtime parity and CPU latency.

The HD-CNN study's claim is that a width-scaled MobileNetV2 runs on edge hardware. This module
exports a fitted :class:`~myoflow.torch_estimator.TorchClassifier` to ONNX, checks that ONNX
Runtime computes the same logits as PyTorch, and times single-frame inference with ONNX Runtime
on one CPU thread (what a controller with one core would see).

The export uses PyTorch's TorchScript-based exporter (``dynamo=False``): the newer
``torch.export`` path needs the extra ``onnxscript`` package and gives the same graph for these
plain convolutional models.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
import warnings
from typing import Any, Iterable, Mapping

import numpy as np

from .io import atomic_path

__all__ = ["export_onnx", "onnx_session", "onnx_parity", "export_and_check", "measure_latency", "cpu_name",
           "write_json"]

INPUT_NAME = "image"
OUTPUT_NAME = "logits"


def export_onnx(est, path: str | os.PathLike, opset: int = 17) -> None:
    """Write ``est``'s model (inputs scaled as in training) to ``path`` as ONNX, atomically.

    Parameters
    ----------
    est : TorchClassifier
        A fitted estimator; its ``input_scale`` is folded into the graph so that the ONNX model
        takes the same inputs as ``est.predict``.
    path : path-like
    opset : int
        ONNX opset version.
    """
    import torch
    from torch import nn

    class _Scaled(nn.Module):
        def __init__(self, model: nn.Module, scale: float) -> None:
            super().__init__()
            self.model, self.scale = model, float(scale)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model(x * self.scale if self.scale != 1.0 else x)

    model = _Scaled(est.model_, est.input_scale).to("cpu").eval()
    dummy = torch.zeros((1, *est.input_shape_), dtype=torch.float32)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter, on purpose
        torch.onnx.export(model, (dummy,), str(tmp), dynamo=False, opset_version=int(opset),
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    import onnx

    onnx.checker.check_model(str(path))


def onnx_session(path: str | os.PathLike, threads: int = 1):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads and one inter-op thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_parity(est, path: str | os.PathLike, X: np.ndarray, batch_size: int = 256) -> dict[str, Any]:
    """Largest absolute difference between PyTorch's and ONNX Runtime's logits on ``X``.

    Returns
    -------
    dict
        ``max_abs_logit_diff``, ``n_frames``, and ``same_predictions`` (share of frames whose
        arg-max class agrees).
    """
    session = onnx_session(path)
    X = np.asarray(X, dtype=np.float32)
    torch_logits = est.decision_function(X)
    onnx_logits = np.concatenate([session.run([OUTPUT_NAME], {INPUT_NAME: X[i:i + batch_size]})[0]
                                  for i in range(0, len(X), batch_size)])
    diff = float(np.max(np.abs(torch_logits - onnx_logits))) if len(X) else 0.0
    same = float(np.mean(torch_logits.argmax(1) == onnx_logits.argmax(1))) if len(X) else 1.0
    return {"max_abs_logit_diff": diff, "n_frames": int(len(X)), "same_predictions": same}


def export_and_check(jobs: Iterable[Mapping[str, Any]], frames: np.ndarray, *, opset: int = 17,
                     tolerance: float = 1e-4) -> list[dict[str, Any]]:
    """Export several fitted models to ONNX and check each against PyTorch on ``frames``.

    Parameters
    ----------
    jobs : iterable of dict
        One per model: ``model_file`` (a saved estimator), ``onnx`` (where its export goes) and
        any keys to copy into its parity row (protocol, split, fold, ...).
    frames : ndarray
        Images the logits are compared on.
    opset, tolerance
        ONNX opset; the largest accepted ``|logit difference|``.

    Returns
    -------
    list of dict
        One parity row per model (its keys + :func:`onnx_parity`'s + ``tolerance``).

    Raises
    ------
    ValueError
        Naming every export whose logits differ by more than ``tolerance``; the exports of that
        call are removed, so no unchecked ONNX file is left behind.
    """
    from .estimators import load_estimator

    rows, written = [], []
    for job in jobs:
        est = load_estimator(job["model_file"], device="cpu")
        export_onnx(est, job["onnx"], opset=opset)
        written.append(job["onnx"])
        rows.append({**job, **onnx_parity(est, job["onnx"], frames), "tolerance": tolerance})
    failed = [r for r in rows if r["max_abs_logit_diff"] > tolerance]
    if failed:
        for path in written:
            with contextlib.suppress(OSError):
                os.remove(path)
        raise ValueError("ONNX Runtime's logits differ from PyTorch's by more than the tolerance "
                         f"{tolerance:g} for: " + "; ".join(f"{r['onnx']} ({r['max_abs_logit_diff']:.3g})"
                                                            for r in failed))
    return rows


def measure_latency(path: str | os.PathLike, input_shape: tuple[int, ...], runs: int = 1000,
                    warmup: int = 50, threads: int = 1, seed: int = 0) -> dict[str, Any]:
    """Single-frame ONNX Runtime latency: ``runs`` timed calls of batch 1 after ``warmup`` untimed.

    Each call gets a new random frame (so no cache of one input flatters the figure).

    Returns
    -------
    dict
        ``p50_ms``, ``p99_ms``, ``mean_ms``, ``min_ms``, ``runs``, ``warmup``, ``threads``,
        ``cpu`` (:func:`cpu_name`).
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"latency needs runs >= 1 and warmup >= 0, got runs={runs}, warmup={warmup}")
    session = onnx_session(path, threads)
    rng = np.random.default_rng(seed)
    frames = rng.standard_normal((min(runs + warmup, 256), 1, *input_shape)).astype(np.float32)
    for i in range(warmup):
        session.run([OUTPUT_NAME], {INPUT_NAME: frames[i % len(frames)]})
    times = np.empty(runs)
    for i in range(runs):
        frame = frames[i % len(frames)]
        t0 = time.perf_counter()
        session.run([OUTPUT_NAME], {INPUT_NAME: frame})
        times[i] = time.perf_counter() - t0
    ms = times * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "min_ms": float(ms.min()), "runs": int(runs),
            "warmup": int(warmup), "threads": int(threads), "cpu": cpu_name()}


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one) and the machine type."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({platform.machine()})"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_json(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """``payload`` as indented JSON, written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True)
