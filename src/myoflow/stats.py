"""Subject-level statistics on the long score table (see ``spec/statistics.md``).

The unit of analysis is the **subject**: folds (and anything else repeated within a subject and a
pipeline) are averaged per subject before any test, so windows or folds of one person are never
treated as independent samples.

The long score table (:data:`myoflow.evaluation.SCORE_COLUMNS`) has one row per grid point
(study, dataset, protocol, split, train/test variant, features, model, loss, norm, measure, latent,
classifier, width, fold), subject and metric with the score in ``value``. A *pipeline* is
identified by a list of those columns (the study's run-sheet columns, or
:data:`DEFAULT_PIPELINE_COLS`) and labelled by joining their values with ``/``, e.g.
``"crossuser/raw/raw/HTD/LDA"``.

Conventions
-----------
- Paired differences are ``a - b``; ``alternative="greater"`` means "pipeline a scores higher".
- Exact sign-flip permutation test below ``n_permutations_threshold`` subjects, Wilcoxon
  signed-rank (zero differences discarded, scipy's ``zero_method="wilcox"``) otherwise.
- Effect size: matched-pairs rank-biserial correlation (positive = a higher), with a seeded
  percentile bootstrap CI over subjects; Cohen's d_z of the differences is reported alongside.
- Multiplicity: Holm, applied explicitly and named in a ``correction`` column.

Everything is deterministic: the bootstrap uses ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from .evaluation import GRID_COLUMNS, SCORE_COLUMNS  # noqa: F401 - SCORE_COLUMNS re-used by callers

#: Columns that identify a pipeline unless the caller says otherwise.
DEFAULT_PIPELINE_COLS: list[str] = [c for c in GRID_COLUMNS if c not in ("study", "dataset", "fold")]

#: Design columns that must be constant within (pipeline, subject, fold) for averaging to be safe.
_DESIGN_COLS = [c for c in GRID_COLUMNS if c != "fold"]

ALTERNATIVES = ("two-sided", "greater", "less")

#: Largest n for exact sign-flip enumeration (2**22 sums, 32 MiB): beyond it use Wilcoxon.
_MAX_EXACT_N = 22

PAIRWISE_COLUMNS: list[str] = [
    "metric", "pipeline_a", "pipeline_b", "test", "alternative", "statistic", "statistic_name",
    "p", "p_adjusted", "correction", "effect", "effect_name", "ci_low", "ci_high", "cohens_d",
    "mean_a", "mean_b", "n", "note",
]
OMNIBUS_COLUMNS: list[str] = ["metric", "test", "statistic", "p", "k", "n", "note"]
SUMMARY_COLUMNS: list[str] = ["pipeline", "metric", "mean", "sd", "median", "n", "min", "max"]


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

def _resolve_cols(pipeline_cols: Sequence[str] | None) -> list[str]:
    cols = list(DEFAULT_PIPELINE_COLS if pipeline_cols is None else pipeline_cols)
    if not cols:
        raise ValueError("pipeline_cols must name at least one column")
    return cols


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(df.columns)}")


def pipeline_labels(
    scores: pd.DataFrame, pipeline_cols: Sequence[str] | None = None
) -> pd.Series:
    """Label each row by its pipeline: the values of ``pipeline_cols`` joined with ``/``.

    Parameters
    ----------
    scores : pd.DataFrame
        Any table holding ``pipeline_cols``.
    pipeline_cols : sequence of str, optional
        Columns identifying a pipeline; default :data:`DEFAULT_PIPELINE_COLS`.

    Returns
    -------
    pd.Series
        String labels aligned with ``scores.index``, named ``"pipeline"``.
    """
    cols = _resolve_cols(pipeline_cols)
    _require(scores, cols, "score table")
    label = scores[cols[0]].astype(str)
    for col in cols[1:]:
        label = label + "/" + scores[col].astype(str)
    return label.rename("pipeline")


def _metric_rows(scores: pd.DataFrame, metric: str, cols: list[str]) -> pd.DataFrame:
    _require(scores, [*cols, "subject", "metric", "value"], "score table")
    rows = scores[scores["metric"] == metric]
    if rows.empty:
        known = sorted(map(str, pd.unique(scores["metric"])))
        raise ValueError(f"no rows for metric {metric!r}; metrics present: {known}")
    return rows


def _check_unique(rows: pd.DataFrame, labels: pd.Series, cols: list[str]) -> None:
    """Refuse to average over a design factor the caller did not name.

    Averaging folds within a subject is the point; silently averaging e.g. two datasets whose
    subject ids coincide, or several losses when ``loss`` is not a pipeline column, is not.
    """
    keys = ["subject"] + (["fold"] if "fold" in rows.columns else [])
    frame = rows[keys].assign(_pipeline=labels.to_numpy())
    dup = frame.duplicated(keep=False).to_numpy()
    if dup.any():
        groups = rows.loc[dup].groupby([frame.loc[dup, c] for c in ["_pipeline", *keys]], dropna=False)
        varying = [
            c for c in _DESIGN_COLS
            if c in rows.columns and c not in cols
            and groups[c].nunique(dropna=False).gt(1).any()
        ]
        hint = (f"column(s) {varying} vary within a pipeline: add them to pipeline_cols or filter"
                if varying else "the table has duplicate rows")
        raise ValueError(f"{int(dup.sum())} score rows share (pipeline, subject, fold); {hint}")


def per_subject(
    scores: pd.DataFrame, metric: str, pipeline_cols: Sequence[str] | None = None
) -> pd.DataFrame:
    """Wide subject x pipeline table of one metric, folds averaged within each subject first.

    Parameters
    ----------
    scores : pd.DataFrame
        Long score table (needs ``pipeline_cols``, ``subject``, ``metric``, ``value``; ``fold``
        optional).
    metric : str
        Metric to keep, e.g. ``"balanced_accuracy"``.
    pipeline_cols : sequence of str, optional
        Columns identifying a pipeline; default :data:`DEFAULT_PIPELINE_COLS`.

    Returns
    -------
    pd.DataFrame
        Index ``subject`` (sorted), columns ``pipeline`` labels in order of first appearance;
        NaN where a subject has no score for a pipeline.

    Raises
    ------
    ValueError
        If the metric is absent, or rows repeat within (pipeline, subject, fold) — a design column
        not in ``pipeline_cols`` varies (e.g. two datasets): averaging it away would be silent
        pooling, so the caller must filter or name it.
    """
    cols = _resolve_cols(pipeline_cols)
    rows = _metric_rows(scores, metric, cols)
    labels = pipeline_labels(rows, cols)
    _check_unique(rows, labels, cols)
    order = list(pd.unique(labels))
    values = pd.to_numeric(rows["value"], errors="coerce").astype(float)
    wide = (
        pd.DataFrame({"subject": rows["subject"].values, "pipeline": labels.values,
                      "value": values.values})
        .groupby(["subject", "pipeline"], sort=True)["value"].mean()
        .unstack("pipeline")
    )
    wide = wide.reindex(columns=order)
    wide.columns.name = "pipeline"
    wide.index.name = "subject"
    return wide


def per_subject_long(
    scores: pd.DataFrame, metric: str, pipeline_cols: Sequence[str] | None = None
) -> pd.DataFrame:
    """Long form of :func:`per_subject`: columns ``subject, pipeline, value`` (NaN cells dropped).

    This is the input :func:`myoflow.plots.plot_per_user_bars` expects.
    """
    wide = per_subject(scores, metric, pipeline_cols)
    long = wide.reset_index().melt(id_vars="subject", var_name="pipeline", value_name="value")
    return long.dropna(subset=["value"]).reset_index(drop=True)


def summarize(
    scores: pd.DataFrame, metric: str, pipeline_cols: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per-pipeline descriptive statistics over subjects (folds averaged within subject first).

    Returns
    -------
    pd.DataFrame
        Columns :data:`SUMMARY_COLUMNS`: ``pipeline, metric, mean, sd, median, n, min, max``;
        ``sd`` uses ddof=1 (NaN for n < 2), ``n`` counts subjects. Rows in pipeline order of first
        appearance.
    """
    wide = per_subject(scores, metric, pipeline_cols)
    out = pd.DataFrame({
        "pipeline": list(wide.columns),
        "metric": metric,
        "mean": wide.mean().to_numpy(),
        "sd": wide.std(ddof=1).to_numpy(),
        "median": wide.median().to_numpy(),
        "n": wide.count().to_numpy().astype(int),
        "min": wide.min().to_numpy(),
        "max": wide.max().to_numpy(),
    })
    return out[SUMMARY_COLUMNS]


# --------------------------------------------------------------------------------------------
# Two-sample paired tests
# --------------------------------------------------------------------------------------------

def _complete_pairs(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Paired complete cases; Series are aligned on their index (subject), arrays by position."""
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="outer")
        x, y = both["a"].to_numpy(float), both["b"].to_numpy(float)
    else:
        x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
        if x.shape != y.shape:
            raise ValueError(f"paired samples differ in length: {x.size} vs {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _signed_rank_sums(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R+, R-) along the last axis; ranks of |d| among the non-zero differences, ties averaged."""
    d = np.atleast_2d(d)
    absd = np.abs(d)
    # Zeros tie at the bottom, so ranking all values and subtracting the zero count gives the
    # ranks among non-zero differences (ties averaged) without ragged arrays.
    ranks = sps.rankdata(absd, axis=-1)
    n_zero = (d == 0).sum(axis=-1, keepdims=True)
    ranks = ranks - n_zero
    r_plus = np.where(d > 0, ranks, 0.0).sum(axis=-1)
    r_minus = np.where(d < 0, ranks, 0.0).sum(axis=-1)
    return r_plus, r_minus


def rank_biserial(d: np.ndarray) -> np.ndarray | float:
    """Matched-pairs rank-biserial correlation ``(R+ - R-) / (R+ + R-)`` of differences ``d``.

    Zero differences are discarded (as in the Wilcoxon test); all-zero differences give 0.
    A 2-D input is treated row-wise (used by the bootstrap).
    """
    d = np.asarray(d, dtype=float)
    r_plus, r_minus = _signed_rank_sums(d)
    total = r_plus + r_minus
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(total > 0, (r_plus - r_minus) / np.where(total > 0, total, 1.0), 0.0)
    return float(r[0]) if d.ndim == 1 else r


def cohens_dz(d: np.ndarray) -> float:
    """Cohen's d_z: mean / sd (ddof=1) of paired differences; NaN if n < 2 or sd = 0 != mean."""
    d = np.asarray(d, dtype=float)
    if d.size < 2:
        return float("nan")
    mean, sd = d.mean(), d.std(ddof=1)
    # Equal differences computed in floating point leave an sd of rounding noise, not spread.
    if sd <= 1e-12 * max(1.0, float(np.abs(d).max())):
        return 0.0 if mean == 0 else float("nan")
    return float(mean / sd)


def sign_flip_p(d: np.ndarray, alternative: str = "two-sided") -> float:
    """Exact sign-flip permutation p-value of the mean of paired differences.

    Enumerates all ``2**n`` sign assignments (the null: each difference is symmetric about 0).

    Parameters
    ----------
    d : np.ndarray
        Paired differences ``a - b`` (n <= 22).
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    float
        Fraction of sign assignments at least as extreme as the observed sum (the observed one
        included, so p >= 2**-n).
    """
    d = np.asarray(d, dtype=float).ravel()
    n = d.size
    if n > _MAX_EXACT_N:
        raise ValueError(f"exact sign-flip enumeration is limited to n <= {_MAX_EXACT_N}, got {n}")
    # All 2**n signed sums by doubling: sums of the first i values under every sign pattern.
    sums = np.zeros(1)
    for x in d:
        sums = np.concatenate([sums + x, sums - x])
    observed = d.sum()
    # Floating-point sums of the same multiset in another order may differ in the last bits.
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))
    if alternative == "two-sided":
        hits = np.abs(sums) >= abs(observed) - tol
    elif alternative == "greater":
        hits = sums >= observed - tol
    elif alternative == "less":
        hits = sums <= observed + tol
    else:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    return float(hits.mean())


def paired_test(
    a,
    b,
    alternative: str = "two-sided",
    n_permutations_threshold: int = 15,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """Paired test of ``a`` vs ``b`` over subjects, with an effect size and its bootstrap CI.

    Parameters
    ----------
    a, b : array-like or pd.Series
        Per-subject scores. Two Series are aligned on their index (subject); arrays by position.
        Pairs with a missing or non-finite value are dropped (complete cases).
    alternative : {"two-sided", "greater", "less"}
        On ``d = a - b``; ``"greater"`` = a scores higher. Choose it before looking at the data.
    n_permutations_threshold : int
        Below this many complete pairs, use the exact sign-flip permutation test (all ``2**n``
        flips); otherwise the Wilcoxon signed-rank test.
    n_boot : int
        Bootstrap resamples (of subjects) for the effect-size CI; 0 skips the CI.
    seed : int
        Seed of the bootstrap generator.
    confidence : float
        Level of the percentile CI.

    Returns
    -------
    dict
        ``test`` ("wilcoxon" or "sign-flip permutation"), ``alternative``, ``statistic``
        (W+ = rank sum of positive differences for Wilcoxon; mean difference for sign-flip),
        ``statistic_name``, ``p``, ``effect`` (rank-biserial), ``effect_name``, ``ci_low``,
        ``ci_high``, ``cohens_d`` (d_z), ``mean_a``, ``mean_b``, ``n`` (complete pairs) and
        ``note`` ("" unless degenerate). All differences zero -> p = 1; n < 2 -> p = NaN.
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    if n_permutations_threshold - 1 > _MAX_EXACT_N:
        raise ValueError(
            f"n_permutations_threshold must be <= {_MAX_EXACT_N + 1} (exact enumeration of 2**n)"
        )
    x, y = _complete_pairs(a, b)
    d = x - y
    n = int(d.size)
    use_exact = n < n_permutations_threshold
    res: dict = {
        "test": "sign-flip permutation" if use_exact else "wilcoxon",
        "alternative": alternative,
        "statistic": float("nan"),
        "statistic_name": "mean difference" if use_exact else "W+ (rank sum of positive differences)",
        "p": float("nan"),
        "effect": float("nan"),
        "effect_name": "rank-biserial",
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "cohens_d": cohens_dz(d),
        "mean_a": float(x.mean()) if n else float("nan"),
        "mean_b": float(y.mean()) if n else float("nan"),
        "n": n,
        "note": "",
    }
    notes: list[str] = []
    if n < 2:
        # One subject carries no information about between-subject consistency.
        notes.append(f"{n} complete pair(s): no test")
        res["note"] = "; ".join(notes)
        return res

    res["effect"] = rank_biserial(d)
    if np.all(d == 0):
        notes.append("all differences zero")
        res["statistic"] = 0.0
        res["p"] = 1.0
    elif use_exact:
        res["statistic"] = float(d.mean())
        res["p"] = sign_flip_p(d, alternative)
    else:
        r_plus, _ = _signed_rank_sums(d)
        res["statistic"] = float(r_plus[0])
        res["p"] = float(sps.wilcoxon(d, alternative=alternative, zero_method="wilcox").pvalue)
    if np.isnan(res["cohens_d"]):
        notes.append("cohens_d undefined (zero sd of differences)")

    if n_boot > 0:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(n_boot, n))
        boot = rank_biserial(d[idx])
        q = (1 - confidence) / 2
        res["ci_low"], res["ci_high"] = (float(v) for v in np.percentile(boot, [100 * q, 100 * (1 - q)]))
    res["note"] = "; ".join(notes)
    return res


# --------------------------------------------------------------------------------------------
# k pipelines
# --------------------------------------------------------------------------------------------

def holm_adjust(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values (statsmodels ``method="holm"``); NaNs stay NaN.

    The family is the non-NaN p-values: a comparison that could not be tested does not count.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def friedman(wide: pd.DataFrame) -> dict:
    """Friedman test over subjects (rows) with complete data for all pipelines (columns).

    Returns
    -------
    dict
        ``test, statistic, p, k, n, note``; k < 3 -> "not applicable"; n < 2 -> p NaN; every
        subject tied across all pipelines -> statistic 0, p 1.
    """
    complete = wide.dropna(axis=0, how="any")
    k, n = int(wide.shape[1]), int(complete.shape[0])
    res = {"test": "friedman", "statistic": float("nan"), "p": float("nan"), "k": k, "n": n,
           "note": ""}
    if k < 3:
        res.update(test="not applicable",
                   note=f"k = {k} pipelines: the pairwise paired test is the test")
        return res
    if n < 2:
        res["note"] = f"{n} subject(s) with all {k} pipelines: no test"
        return res
    values = complete.to_numpy(float)
    if np.all(values == values[:, :1]):
        res.update(statistic=0.0, p=1.0, note="all pipelines tied within every subject")
        return res
    stat, p = sps.friedmanchisquare(*values.T)
    res.update(statistic=float(stat), p=float(p))
    if n < wide.shape[0]:
        res["note"] = f"{wide.shape[0] - n} subject(s) without all pipelines dropped"
    return res


def compare_pipelines(
    scores: pd.DataFrame,
    metric: str,
    pipeline_cols: Sequence[str] | None = None,
    alternative: str = "two-sided",
    reference: str | None = None,
    n_permutations_threshold: int = 15,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Omnibus Friedman test and Holm-corrected pairwise paired tests over subjects.

    Parameters
    ----------
    scores : pd.DataFrame
        Long score table.
    metric : str
        Metric to compare.
    pipeline_cols : sequence of str, optional
        Columns identifying a pipeline; default :data:`DEFAULT_PIPELINE_COLS`.
    alternative : {"two-sided", "greater", "less"}
        For every pair, on ``pipeline_a - pipeline_b``. Pairs are (earlier, later) in order of
        first appearance, or (other, reference) when ``reference`` is given.
    reference : str, optional
        A pipeline label: compare every other pipeline with it only (many-to-one, a smaller Holm
        family), e.g. every loss vs CE.
    n_permutations_threshold, n_boot, seed
        Passed to :func:`paired_test` (same seed for every pair, so the table is reproducible).

    Returns
    -------
    omnibus : pd.DataFrame
        One row, columns :data:`OMNIBUS_COLUMNS` (``metric, test, statistic, p, k, n, note``).
    pairwise : pd.DataFrame
        One row per pair, columns :data:`PAIRWISE_COLUMNS` (``metric, pipeline_a, pipeline_b,
        test, alternative, statistic, statistic_name, p, p_adjusted, correction, effect,
        effect_name, ci_low, ci_high, cohens_d, mean_a, mean_b, n, note``). ``n`` is the number of
        subjects with both pipelines (complete cases per pair).
    """
    wide = per_subject(scores, metric, pipeline_cols)
    omnibus = pd.DataFrame([{"metric": metric, **friedman(wide)}])[OMNIBUS_COLUMNS]

    labels = list(wide.columns)
    if reference is not None:
        if reference not in labels:
            raise ValueError(f"reference pipeline {reference!r} not among {labels}")
        pairs = [(p, reference) for p in labels if p != reference]
    else:
        pairs = list(itertools.combinations(labels, 2))

    rows = []
    for pa, pb in pairs:
        res = paired_test(wide[pa], wide[pb], alternative=alternative,
                          n_permutations_threshold=n_permutations_threshold,
                          n_boot=n_boot, seed=seed)
        rows.append({"metric": metric, "pipeline_a": pa, "pipeline_b": pb, **res})
    pairwise = pd.DataFrame(rows, columns=[c for c in PAIRWISE_COLUMNS if c != "p_adjusted"
                                           and c != "correction"])
    pairwise["p_adjusted"] = holm_adjust(pairwise["p"].to_numpy(float)) if rows else []
    pairwise["correction"] = "holm"
    pairwise["n"] = pairwise["n"].astype(int)
    return omnibus, pairwise[PAIRWISE_COLUMNS]


def mean_ranks(wide: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Mean rank of each pipeline over subjects (1 = best), for critical-difference diagrams.

    Parameters
    ----------
    wide : pd.DataFrame
        Subject x pipeline table (:func:`per_subject`). Subjects missing any pipeline are dropped,
        as in the Friedman test.
    higher_is_better : bool
        True for accuracies (the highest score gets rank 1); ties get average ranks.

    Returns
    -------
    pd.Series
        Mean rank per pipeline, named ``"mean_rank"``, sorted best first.
    """
    complete = wide.dropna(axis=0, how="any")
    if complete.empty:
        return pd.Series(np.nan, index=wide.columns, name="mean_rank")
    values = complete.to_numpy(float)
    ranks = sps.rankdata(-values if higher_is_better else values, axis=1)
    out = pd.Series(ranks.mean(axis=0), index=wide.columns, name="mean_rank")
    out.index.name = "pipeline"
    return out.sort_values(kind="stable")


# --------------------------------------------------------------------------------------------
# Families: pipelines compared only where their subjects are the same people
# --------------------------------------------------------------------------------------------

def compare_families(
    scores: pd.DataFrame,
    metric: str,
    pipeline_cols: Sequence[str],
    family_cols: Sequence[str] = (),
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`summarize` and :func:`compare_pipelines` within each family of pipelines.

    A family (e.g. one dataset) is a set of pipelines scored on the same subjects; subjects of two
    datasets are different people, so they are never paired. Pipelines are labelled by the
    ``pipeline_cols`` that vary within the family; the tables gain the family columns first.
    Holm's correction runs within each family.

    Returns ``(summary, omnibus, pairwise)``.
    """
    family_cols = list(family_cols)
    rows = _metric_rows(scores, metric, [*family_cols, *pipeline_cols])
    groups = rows.groupby(family_cols, sort=True) if family_cols else [((), rows)]
    parts: dict[str, list[pd.DataFrame]] = {"summary": [], "omnibus": [], "pairwise": []}
    for key, family in groups:
        key = key if isinstance(key, tuple) else (key,)
        varying = [c for c in pipeline_cols if family[c].nunique(dropna=False) > 1] or list(pipeline_cols[:1])
        tables = {"summary": summarize(family, metric, varying)}
        tables["omnibus"], tables["pairwise"] = compare_pipelines(family, metric, varying, seed=seed)
        for name, table in tables.items():
            for col, value in reversed(list(zip(family_cols, key))):
                table.insert(0, col, value)
            table.insert(len(family_cols), "pipeline_columns", "/".join(varying))
            parts[name].append(table)
    return tuple(pd.concat(parts[n], ignore_index=True) for n in ("summary", "omnibus", "pairwise"))


# --------------------------------------------------------------------------------------------
# the disentanglement study's measure x measure test matrix
# --------------------------------------------------------------------------------------------

#: how the pairwise matrix is tested: ``paired_holm`` (corrected) or ``source`` (as published)
MATRIX_TESTS = ("paired_holm", "source")


def _source_stattest(a: np.ndarray, b: np.ndarray) -> float:
    """The source's ``stattest`` (step4_Statistical_Analysis.py): Shapiro on each sample; both
    normal -> an *unpaired* one-sided t-test in the direction of the means, else a one-sided
    Wilcoxon signed-rank test; no correction. Signed: negative when ``a``'s mean is lower."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    normal = len(a) >= 3 and len(b) >= 3 and sps.shapiro(a).pvalue >= 0.05 and sps.shapiro(b).pvalue >= 0.05
    lower = a.mean() <= b.mean()
    alternative = "less" if lower else "greater"
    if normal:
        p = sps.ttest_ind(a, b, alternative=alternative).pvalue
    else:
        d = a - b if len(a) == len(b) else np.array([])
        p = 1.0 if len(d) == 0 or np.all(d == 0) else sps.wilcoxon(a, b, correction=False, alternative=alternative).pvalue
    return float(-p if lower else p)


def pairwise_matrix(wide: pd.DataFrame, test: str = "paired_holm", seed: int = 0) -> pd.DataFrame:
    """Signed p-values between every pair of columns of a subject x condition table.

    Parameters
    ----------
    wide : DataFrame
        Rows: subjects; columns: conditions (e.g. input measures); values: per-subject scores.
    test : {"paired_holm", "source"}
        ``paired_holm``: :func:`paired_test` (two-sided, over complete subject pairs), Holm-adjusted
        over all pairs of the matrix. ``source``: :func:`_source_stattest`, unadjusted (the
        published analysis).

    Returns
    -------
    DataFrame
        Square, conditions x conditions: ``p`` with the sign of (row mean - column mean), NaN on
        the diagonal.
    """
    if test not in MATRIX_TESTS:
        raise ValueError(f"matrix test {test!r} unknown; expected one of {MATRIX_TESTS}")
    cols = list(wide.columns)
    out = pd.DataFrame(np.nan, index=cols, columns=cols)
    pairs = list(itertools.combinations(range(len(cols)), 2))
    if test == "source":
        for i, j in pairs:
            p = _source_stattest(wide.iloc[:, i].to_numpy(float), wide.iloc[:, j].to_numpy(float))
            out.iloc[i, j], out.iloc[j, i] = p, -p
        return out
    raw, signs = [], []
    for i, j in pairs:
        res = paired_test(wide.iloc[:, i], wide.iloc[:, j], n_boot=0, seed=seed)
        raw.append(res["p"])
        signs.append(1.0 if np.nanmean(wide.iloc[:, i]) >= np.nanmean(wide.iloc[:, j]) else -1.0)
    for (i, j), p, s in zip(pairs, holm_adjust(raw), signs):
        out.iloc[i, j], out.iloc[j, i] = s * p, -s * p
    return out


def pca(X: np.ndarray, n_components: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of the rows of ``X`` (centred, SVD): the rows' coordinates on the
    first ``n_components`` components and each component's explained-variance ratio.

    Signs are fixed (each component's largest-magnitude loading positive), so the same data give
    the same figure.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"pca needs a 2-D array of at least 2 rows, got shape {X.shape}")
    k = min(int(n_components), *X.shape)
    centred = X - X.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    u, vt = u * signs, vt * signs[:, None]
    total = float(np.sum(s**2))
    explained = (s**2 / total) if total > 0 else np.zeros_like(s)
    return u[:, :k] * s[:k], explained[:k]


# --------------------------------------------------------------------------------------------
# The protocol audit and statistics across datasets
# --------------------------------------------------------------------------------------------

#: Columns of :func:`paired_difference`'s result (one audit row without its keys).
DIFFERENCE_COLUMNS: list[str] = ["mean_difference", "ci_low", "ci_high", "p", "test", "n", "mean_a", "mean_b"]


def paired_difference(a, b, n_boot: int = 2000, seed: int = 0, confidence: float = 0.95,
                      n_permutations_threshold: int = 15) -> dict:
    """The mean over subjects of ``a - b`` (e.g. a defect's protocol minus the corrected one),
    its percentile bootstrap CI over subjects (seeded), and the paired test of
    :func:`paired_test` (two-sided; sign-flip below ``n_permutations_threshold`` subjects,
    Wilcoxon above). Complete pairs only; fewer than 2 give NaNs."""
    x, y = _complete_pairs(a, b)
    d = x - y
    n = int(d.size)
    out = {"mean_difference": float(d.mean()) if n else float("nan"), "ci_low": float("nan"),
           "ci_high": float("nan"), "p": float("nan"), "test": "", "n": n,
           "mean_a": float(x.mean()) if n else float("nan"), "mean_b": float(y.mean()) if n else float("nan")}
    if n < 2:
        return out
    if n_boot > 0:
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        q = (1 - confidence) / 2
        out["ci_low"], out["ci_high"] = (float(v) for v in np.percentile(d[idx].mean(axis=1),
                                                                            [100 * q, 100 * (1 - q)]))
    test = paired_test(x, y, n_boot=0, n_permutations_threshold=n_permutations_threshold)
    out["p"], out["test"] = test["p"], test["test"]
    return out


def stouffer(z, n, alternative: str = "two-sided") -> dict:
    """Stouffer's combination of per-dataset z scores weighted by sqrt(n):
    ``Z = sum(w z) / sqrt(sum(w^2))``, ``w = sqrt(n)``. ``z`` positive = the effect in the
    direction tested. Returns ``z``, ``p`` (of ``alternative``) and ``k`` (datasets)."""
    z, n = np.asarray(z, dtype=float), np.asarray(n, dtype=float)
    if z.shape != n.shape or z.size == 0:
        raise ValueError(f"stouffer needs one n per z, got {z.shape} and {n.shape}")
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    w = np.sqrt(n)
    combined = float(np.sum(w * z) / np.sqrt(np.sum(w**2)))
    if alternative == "greater":
        p = float(sps.norm.sf(combined))
    elif alternative == "less":
        p = float(sps.norm.cdf(combined))
    else:
        p = float(2 * sps.norm.sf(abs(combined)))
    return {"z": combined, "p": p, "k": int(z.size)}


def signed_z(d) -> float:
    """The z score of a paired comparison from its differences ``d`` (two-sided Wilcoxon p turned
    into a normal quantile, signed by the median difference): what :func:`stouffer` combines."""
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2 or np.all(d == 0):
        return 0.0
    p = float(sps.wilcoxon(d, zero_method="wilcox").pvalue)
    return float(np.sign(np.median(d)) * sps.norm.isf(max(p, 1e-300) / 2))


#: Columns of :func:`mixed_model_table`.
MIXED_MODEL_COLUMNS: list[str] = ["term", "coef", "se", "ci_low", "ci_high", "p", "n_obs", "n_datasets",
                                  "n_subjects", "reference", "converged"]


def mixed_model_table(long: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """``score ~ pipeline + (1 | dataset / subject)`` by statsmodels' MixedLM (REML): a random
    intercept per dataset and a variance component per subject within its dataset.

    ``long``: columns ``score``, ``pipeline``, ``dataset``, ``subject`` (one row per pipeline,
    dataset and subject, folds already averaged). ``reference``: the pipeline every coefficient
    is the difference from (default: the first in sorted order). One row per fixed effect:
    the reference's mean (``Intercept``) and each other pipeline's difference from it, with SE,
    95 % Wald CI and p.
    """
    import warnings

    import statsmodels.formula.api as smf

    _require(long, ["score", "pipeline", "dataset", "subject"], "mixed-model table")
    data = long[["score", "pipeline", "dataset", "subject"]].dropna().copy()
    pipelines = sorted(data["pipeline"].astype(str).unique())
    if len(pipelines) < 2:
        raise ValueError(f"a mixed model compares at least 2 pipelines, got {pipelines}")
    reference = pipelines[0] if reference is None else str(reference)
    if reference not in pipelines:
        raise ValueError(f"reference pipeline {reference!r} is not among {pipelines}")
    data["pipeline"] = pd.Categorical(data["pipeline"].astype(str), [reference] + [p for p in pipelines
                                                                                  if p != reference])
    data["dataset"] = data["dataset"].astype(str)
    data["subject"] = data["dataset"] + ":" + data["subject"].astype(str)  # ids are per dataset
    n_datasets = data["dataset"].nunique()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if n_datasets > 1:
            model = smf.mixedlm("score ~ pipeline", data, groups="dataset", re_formula="1",
                                vc_formula={"subject": "0 + C(subject)"})
        else:  # one dataset: the subject is the only grouping
            model = smf.mixedlm("score ~ pipeline", data, groups="subject")
        fit = model.fit(reml=True)
    converged = bool(getattr(fit, "converged", True)) and not any(
        "converge" in str(w.message).lower() for w in caught)
    ci = fit.conf_int()
    rows = []
    for term in fit.fe_params.index:
        label = "Intercept" if term == "Intercept" else term.replace("pipeline[T.", "").rstrip("]")
        rows.append({"term": label, "coef": float(fit.fe_params[term]), "se": float(fit.bse_fe[term]),
                     "ci_low": float(ci.loc[term, 0]), "ci_high": float(ci.loc[term, 1]),
                     "p": float(fit.pvalues[term]), "n_obs": int(len(data)), "n_datasets": int(n_datasets),
                     "n_subjects": int(data["subject"].nunique()), "reference": reference,
                     "converged": converged})
    return pd.DataFrame(rows, columns=MIXED_MODEL_COLUMNS)
