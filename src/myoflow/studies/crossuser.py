"""Tables of the cross-user study that read the long score table (no Snakemake here).

:func:`loss_table`: the loss experiment's mean +- sd over test users of every (loss, training
variant, test variant, norm). :func:`loss_tests`: within each (training variant, test variant,
norm), the Friedman test over the losses, every loss against CE (paired over test users, Holm
over the losses) and all pairs (Holm), with the mean ranks a critical-difference diagram reads.
The unit is the test user (``statistics.md``): windows and folds of one user are averaged first.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from ..stats import compare_pipelines, mean_ranks, per_subject

__all__ = ["LOSS_KEYS", "loss_rows", "loss_table", "loss_tests"]

#: the columns one cell of the loss table is keyed by
LOSS_KEYS = ["model", "train_variant", "test_variant", "norm"]

METRIC = "balanced_accuracy"


def loss_rows(scores: pd.DataFrame, models: Sequence[str], protocol: str = "crossuser") -> pd.DataFrame:
    """Balanced-accuracy rows of the loss experiment: the swept ``models`` under ``protocol``."""
    rows = scores[(scores["metric"] == METRIC) & (scores["protocol"] == protocol)
                  & scores["model"].isin(list(models))]
    if rows.empty:
        raise ValueError(f"no {METRIC} scores of models {list(models)} under protocol {protocol!r}")
    return rows


def loss_table(rows: pd.DataFrame, losses: Sequence[str]) -> pd.DataFrame:
    """Mean, sd, median and n over test users per (model, train variant, test variant, norm, loss).

    Losses in the order given (the config's), then the other keys in order of appearance.
    """
    per_user = rows.groupby([*LOSS_KEYS, "loss", "subject"], sort=False)["value"].mean().reset_index()
    table = (per_user.groupby([*LOSS_KEYS, "loss"], sort=False)["value"]
             .agg(mean="mean", sd=lambda v: v.std(ddof=1), median="median", n="count").reset_index())
    order = {loss: i for i, loss in enumerate(losses)}
    table["_order"] = table["loss"].map(order)
    return table.sort_values(["_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def loss_tests(rows: pd.DataFrame, reference: str = "ce", seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (model, train variant, test variant, norm): Friedman over losses and paired tests.

    Returns
    -------
    tests : pd.DataFrame
        One row per comparison: ``comparison`` = ``friedman`` (omnibus), ``vs_reference`` (every
        loss against ``reference``, Holm within the cell) or ``pairwise`` (all pairs, Holm within
        the cell), with :func:`myoflow.stats.compare_pipelines`' columns.
    ranks : pd.DataFrame
        Mean rank (1 = best) of every loss per cell, for the critical-difference diagram.
    """
    tests, ranks = [], []
    for key, cell in rows.groupby(LOSS_KEYS, sort=False):
        keys = dict(zip(LOSS_KEYS, key))
        if cell["loss"].nunique() < 2:
            continue
        omnibus, pairwise = compare_pipelines(cell, METRIC, ["loss"], seed=seed)
        tests.append(omnibus.assign(comparison="friedman", **keys))
        tests.append(pairwise.assign(comparison="pairwise", **keys))
        if reference in set(cell["loss"]):
            _, vs = compare_pipelines(cell, METRIC, ["loss"], reference=reference, seed=seed)
            tests.append(vs.assign(comparison="vs_reference", **keys))
        r = mean_ranks(per_subject(cell, METRIC, ["loss"])).rename("mean_rank").reset_index()
        ranks.append(r.rename(columns={"pipeline": "loss"}).assign(**keys))
    if not tests:
        raise ValueError("the loss experiment needs at least two losses in one cell")
    table = pd.concat(tests, ignore_index=True)
    front = ["comparison", *LOSS_KEYS]
    table = table[front + [c for c in table.columns if c not in front]]
    return table, pd.concat(ranks, ignore_index=True)
