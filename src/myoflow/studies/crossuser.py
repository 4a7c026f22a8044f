"""Tables of the cross-user study that read the long score table (no Snakemake here).

:func:`loss_table`: the loss experiment's mean +- sd over test users of every (loss, training
variant, test variant, norm). :func:`loss_tests`: within each (training variant, test variant,
norm), the Friedman test over the losses, every loss against CE (paired over test users, Holm
over the losses) and all pairs (Holm), with the mean ranks a critical-difference diagram reads.
:func:`factor_table` / :func:`factor_tests` do the same for any factor (the feature group of the
feature grid, the model of the architecture comparison); :func:`best_feature_groups` picks each
feature model's group on the validation items. The unit is the test user (``statistics.md``):
windows and folds of one user are averaged first.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from ..stats import compare_pipelines, mean_ranks, per_subject

__all__ = ["LOSS_KEYS", "loss_rows", "loss_table", "loss_tests", "factor_table", "factor_tests",
           "best_feature_groups", "own_variant_rows"]

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


def factor_table(rows: pd.DataFrame, factor: str, keys: Sequence[str], order: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean, sd, median and n over test users per (``keys``..., ``factor``) cell.

    Levels of ``factor`` in ``order`` where given (the config's), others after them in order of
    appearance; the other keys in order of appearance.
    """
    keys = list(keys)
    per_user = rows.groupby([*keys, factor, "subject"], sort=False)["value"].mean().reset_index()
    table = (per_user.groupby([*keys, factor], sort=False)["value"]
             .agg(mean="mean", sd=lambda v: v.std(ddof=1), median="median", n="count").reset_index())
    rank = {level: i for i, level in enumerate(order or [])}
    table["_order"] = table[factor].map(lambda v: rank.get(v, len(rank)))
    return table.sort_values(["_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def factor_tests(rows: pd.DataFrame, factor: str, keys: Sequence[str], reference: str | None = None,
                 seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per cell of ``keys``: Friedman over the levels of ``factor`` and paired tests over test users.

    Returns
    -------
    tests : pd.DataFrame
        One row per comparison: ``comparison`` = ``friedman`` (omnibus), ``vs_reference`` (every
        level against ``reference``, Holm within the cell) or ``pairwise`` (all pairs, Holm within
        the cell), with :func:`myoflow.stats.compare_pipelines`' columns.
    ranks : pd.DataFrame
        Mean rank (1 = best) of every level per cell, for the critical-difference diagram.
    """
    keys = list(keys)
    tests, ranks = [], []
    cells = rows.groupby(keys, sort=False) if keys else [((), rows)]
    for key, cell in cells:
        cell_keys = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        if cell[factor].nunique() < 2:
            continue
        omnibus, pairwise = compare_pipelines(cell, METRIC, [factor], seed=seed)
        tests.append(omnibus.assign(comparison="friedman", **cell_keys))
        tests.append(pairwise.assign(comparison="pairwise", **cell_keys))
        if reference is not None and reference in set(cell[factor]):
            _, vs = compare_pipelines(cell, METRIC, [factor], reference=reference, seed=seed)
            tests.append(vs.assign(comparison="vs_reference", **cell_keys))
        r = mean_ranks(per_subject(cell, METRIC, [factor])).rename("mean_rank").reset_index()
        ranks.append(r.rename(columns={"pipeline": factor}).assign(**cell_keys))
    if not tests:
        raise ValueError(f"comparing {factor}: needs at least two {factor} levels in one cell")
    table = pd.concat(tests, ignore_index=True)
    front = ["comparison", *keys]
    table = table[front + [c for c in table.columns if c not in front]]
    return table, pd.concat(ranks, ignore_index=True)


def loss_table(rows: pd.DataFrame, losses: Sequence[str]) -> pd.DataFrame:
    """Mean, sd, median and n over test users per (model, train variant, test variant, norm, loss).

    Losses in the order given (the config's), then the other keys in order of appearance.
    """
    return factor_table(rows, "loss", LOSS_KEYS, losses)


def loss_tests(rows: pd.DataFrame, reference: str = "ce", seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (model, train variant, test variant, norm): Friedman over losses and paired tests
    (:func:`factor_tests` with the loss as the factor); every loss also against ``reference``."""
    return factor_tests(rows, "loss", LOSS_KEYS, reference=reference, seed=seed)


def own_variant_rows(scores: pd.DataFrame, variant: str, norm: str = "none",
                     protocol: str = "crossuser") -> pd.DataFrame:
    """Balanced-accuracy rows of models trained and tested on ``variant`` under ``norm``."""
    rows = scores[(scores["metric"] == METRIC) & (scores["protocol"] == protocol)
                  & (scores["train_variant"] == variant) & (scores["test_variant"] == variant)
                  & (scores["norm"] == norm)]
    if rows.empty:
        raise ValueError(f"no {METRIC} scores trained and tested on {variant!r} with norm {norm!r}")
    return rows


def best_feature_groups(validation: pd.DataFrame) -> pd.DataFrame:
    """Each model's feature group with the highest mean validation balanced accuracy.

    ``validation``: one row per (model, features, subject) with ``balanced_accuracy`` (the
    training jobs' validation files). Ties go to the group listed first. Returns one row per
    model: ``model, features, validation_balanced_accuracy, n_validation_users``.
    """
    if validation.empty:
        raise ValueError("no validation scores: the fold has no validation items (crossuser.split."
                         "validation_users 0 and validation 'users'), so no feature group can be chosen "
                         "without the test users")
    means = (validation.groupby(["model", "features"], sort=False)["balanced_accuracy"]
             .agg(validation_balanced_accuracy="mean", n_validation_users="count").reset_index())
    best = means.loc[means.groupby("model", sort=False)["validation_balanced_accuracy"].idxmax()]
    return best.reset_index(drop=True)
