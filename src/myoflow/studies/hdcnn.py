"""The HD-CNN study's job logic: training parameters per protocol and split, the deployment table.

Kept out of the rule scripts so that it is unit-tested; the scripts only read inputs and write
outputs.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["PUBLISHED", "training_params", "deployment_table"]

#: The source's table (ICE Lab, 1 x 8 x 24 input, 8 classes, sample-level K-fold): params and
#: MACs are the architecture's hard check, the accuracy is what the leakage figure questions.
PUBLISHED = {
    1.0: {"params": 2.314e6, "macs": 18.303e6, "accuracy": 0.99197},
    0.7: {"params": 1.712e6, "macs": 12.967e6, "accuracy": 0.98856},
    0.4: {"params": 1.110e6, "macs": 7.632e6, "accuracy": 0.97924},
    0.2: {"params": 0.8085e6, "macs": 4.964e6, "accuracy": 0.97252},
}


def training_params(train: Mapping[str, Any], width: float, *, split: str, init_from: str | None = None,
                    select_on_test: bool = False, finetune: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """TorchClassifier parameters of one HD-CNN training job.

    Parameters
    ----------
    train : dict
        ``hdcnn.train`` (optimiser, epochs, ...).
    width : float
        MobileNetV2 width multiplier.
    split : str
        The job's split type; ``finetune`` merges ``finetune["train"]`` over ``train`` and
        freezes ``finetune["freeze"]`` (the source's option: stem and first block).
    init_from : str, optional
        Model file to start from: the pretrained ``subject`` model for ``finetune``, or the
        previous fold's model under the ``weights_carried_over`` defect. None: fresh weights.
    select_on_test : bool
        Defect ``test_set_checkpoint``: keep the epoch of best accuracy on the validation data
        (the caller passes the test items as validation).
    finetune : dict, optional
        ``hdcnn.finetune`` (needed when ``split == "finetune"``).
    """
    params: dict[str, Any] = {**train, "model": "MobileNetV2", "model_params": {"width": float(width)}}
    if split == "finetune":
        if finetune is None or not init_from:
            raise ValueError("the finetune split needs hdcnn.finetune and the pretrained subject-split model")
        params.update(finetune.get("train", {}))
        params["freeze"] = list(finetune.get("freeze", []))
    if init_from:
        params["init_from"] = str(init_from)
    if select_on_test:
        params["selection"] = "val_accuracy"
    return params


def deployment_table(sheet: pd.DataFrame, scores: pd.DataFrame, costs: Iterable[Mapping[str, Any]],
                     parity: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (dataset, width): params, MACs, ONNX size, latency, parity, accuracy per split.

    Parameters
    ----------
    sheet : DataFrame
        The HD-CNN run sheet (``protocol``, ``dataset``, ``split``, ``width``, ``fold``).
    scores : DataFrame
        The study's score table (``metric == "accuracy"`` rows are used).
    costs : iterable of dict
        Per (dataset, width): ``dataset``, ``width``, ``params``, ``macs``, ``onnx_bytes``,
        ``p50_ms``, ``p99_ms``, ``cpu``.
    parity : iterable of dict
        Per exported model: ``dataset``, ``width``, ``max_abs_logit_diff``.

    Returns
    -------
    DataFrame
        Accuracy columns ``accuracy_<split>`` (mean over the subjects and folds of the
        ``corrected`` protocol; other protocols get ``accuracy_<split>_<protocol>``).
    """
    table = pd.DataFrame(list(costs))
    table["width"] = table["width"].astype(str)
    par = pd.DataFrame(list(parity))
    if len(par):
        par["width"] = par["width"].astype(str)
        worst = par.groupby(["dataset", "width"])["max_abs_logit_diff"].max().rename("max_abs_logit_diff")
        table = table.merge(worst.reset_index(), on=["dataset", "width"], how="left")
    acc = scores[scores["metric"] == "accuracy"].copy()
    acc["width"] = acc["width"].astype(str)
    acc["column"] = np.where(acc["protocol"] == "corrected", "accuracy_" + acc["split"],
                             "accuracy_" + acc["split"] + "_" + acc["protocol"])
    wide = acc.pivot_table(index=["dataset", "width"], columns="column", values="value", aggfunc="mean")
    table = table.merge(wide.reset_index(), on=["dataset", "width"], how="left")
    return table.sort_values(["dataset", "macs"]).reset_index(drop=True)
