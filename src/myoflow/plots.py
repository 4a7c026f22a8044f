"""Figures of the studies, drawn from tables that :mod:`myoflow.stats` and the evaluators write.

Rules every function follows:

- it takes data plus an output path, saves a PNG (dpi 150) and releases the figure;
- it computes no statistics beyond means and standard deviations for display: p-values, adjusted
  p-values and mean ranks come in as tables;
- it writes through :func:`myoflow.io.atomic_path` (a temporary file moved into place), so an
  exception leaves no half-written figure under the output name.

Figures are built on :class:`matplotlib.figure.Figure` directly (rendered by the Agg canvas), not
through ``pyplot``: no global figure registry to leak into, no GUI backend to pick, and nothing to
close after an exception.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .evaluation import pareto_mask
from .io import atomic_path

DPI = 150


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def _new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)  # explicit Agg canvas, independent of the process-wide backend
    return fig


def _save(fig: Figure, out: str | os.PathLike) -> None:
    """Render ``fig`` to ``out`` atomically, then drop its artists."""
    try:
        with atomic_path(out) as tmp:
            # The temp name ends in ".tmp", so the format must be explicit.
            fig.savefig(tmp, format="png", dpi=DPI)
    finally:
        fig.clear()


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(df.columns)}")


def _single_metric(df: pd.DataFrame, what: str) -> None:
    if "metric" in df.columns and df["metric"].nunique() > 1:
        raise ValueError(f"{what} holds several metrics {sorted(map(str, df['metric'].unique()))};"
                         " filter to one before plotting")


def _stars(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _order(values: pd.Series) -> list:
    """Categories in order of first appearance (the config's order, not alphabetical)."""
    return list(pd.unique(values))


def _jitter(n: int, width: float) -> np.ndarray:
    """Deterministic horizontal offsets for n points, spread over +-width/2."""
    if n <= 1:
        return np.zeros(n)
    return np.linspace(-width / 2, width / 2, n)


def _grid(n: int, ncols: int) -> tuple[int, int]:
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def _grouped_bars(
    ax,
    table: pd.DataFrame,
    group_col: str,
    hue_col: str,
    value_col: str = "value",
    unit_col: str | None = None,
) -> None:
    """Bars of mean +- sd of ``value_col`` per (group, hue), with the individual units as points."""
    if unit_col is not None:
        # One point per unit: average any repeats (e.g. folds of a subject) for display.
        table = table.groupby([group_col, hue_col, unit_col], sort=False, dropna=False)[
            value_col].mean().reset_index()
    groups, hues = _order(table[group_col]), _order(table[hue_col])
    width = 0.8 / len(hues)
    colors = matplotlib.colormaps["tab10"]
    for h, hue in enumerate(hues):
        xs, means, sds = [], [], []
        for g, group in enumerate(groups):
            v = table.loc[(table[group_col] == group) & (table[hue_col] == hue), value_col]
            v = v.to_numpy(float)
            v = v[np.isfinite(v)]
            if v.size == 0:
                continue
            x = g - 0.4 + width * (h + 0.5)
            xs.append(x)
            means.append(v.mean())
            sds.append(v.std(ddof=1) if v.size > 1 else 0.0)
            ax.scatter(x + _jitter(v.size, width * 0.5), v, s=10, color="black", alpha=0.6,
                       zorder=3, linewidths=0)
        ax.bar(xs, means, width=width * 0.9, yerr=sds, capsize=3, color=colors(h % 10),
               alpha=0.8, label=str(hue), zorder=2)
    ax.set_xticks(range(len(groups)), [str(g) for g in groups])
    ax.legend(title=hue_col, fontsize="small")


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

def plot_per_user_bars(
    per_user: pd.DataFrame,
    out: str | os.PathLike,
    metric_name: str = "balanced accuracy",
    chance: float | None = None,
    ncols: int = 3,
) -> None:
    """Per-user scores sorted descending, one panel per pipeline, with the mean line.

    Parameters
    ----------
    per_user : pd.DataFrame
        Columns ``subject, pipeline, value``, one row per user and pipeline (e.g.
        :func:`myoflow.stats.per_subject_long`). Panels follow the order of first appearance.
    out : path
        PNG to write.
    metric_name : str
        y-axis label.
    chance : float, optional
        Draws a dashed chance line (e.g. 1 / number of classes).
    ncols : int
        Panels per row.
    """
    _require(per_user, ["subject", "pipeline", "value"], "per-user table")
    if per_user.empty:
        raise ValueError("per-user table is empty")
    pipelines = _order(per_user["pipeline"])
    nrows, ncols = _grid(len(pipelines), ncols)
    fig = _new_figure(4.5 * ncols, 3.2 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
    for ax, pipeline in zip(axes, pipelines):
        rows = per_user[per_user["pipeline"] == pipeline]
        v = rows["value"].to_numpy(float)
        order = np.argsort(-v, kind="stable")
        v, users = v[order], rows["subject"].to_numpy()[order]
        mean = float(np.nanmean(v))
        sd = float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else float("nan")
        ax.bar(np.arange(v.size), v, width=0.9, color="tab:blue", zorder=2)
        ax.axhline(mean, color="tab:red", lw=1.5, label=f"mean {mean:.3f}", zorder=3)
        if chance is not None:
            ax.axhline(chance, color="grey", ls="--", lw=1, label=f"chance {chance:.3g}")
        ax.set_title(f"{pipeline}\n{mean:.3f} \u00b1 {sd:.3f} (n = {v.size})", fontsize="medium")
        if v.size <= 30:
            ax.set_xticks(np.arange(v.size), [str(u) for u in users], rotation=90,
                          fontsize="x-small")
        else:
            ax.set_xticks([])
        ax.set_xlabel("users, sorted")
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize="x-small", loc="lower left")
    for ax in axes[len(pipelines):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(metric_name)
    _save(fig, out)


def plot_pipeline_comparison(
    summary: pd.DataFrame,
    pairwise: pd.DataFrame | None,
    out: str | os.PathLike,
    metric_name: str,
    per_subject: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> None:
    """Mean +- sd bars per pipeline, per-subject points, and stars for Holm-significant pairs.

    Parameters
    ----------
    summary : pd.DataFrame
        :func:`myoflow.stats.summarize` output (``pipeline, mean, sd, n``); bar order = row order.
    pairwise : pd.DataFrame or None
        :func:`myoflow.stats.compare_pipelines` pairwise table (``pipeline_a, pipeline_b,
        p_adjusted``). Pairs with ``p_adjusted < alpha`` get a bracket with stars
        (* < .05, ** < .01, *** < .001); others are left unmarked.
    out : path
        PNG to write.
    metric_name : str
        y-axis label.
    per_subject : pd.DataFrame, optional
        Wide subject x pipeline table (:func:`myoflow.stats.per_subject`) for the points.
    alpha : float
        Significance level for drawing a bracket.
    """
    _require(summary, ["pipeline", "mean", "sd"], "summary table")
    _single_metric(summary, "summary table")
    if summary.empty:
        raise ValueError("summary table is empty")
    labels = [str(p) for p in summary["pipeline"]]
    pos = {p: i for i, p in enumerate(labels)}
    k = len(labels)
    fig = _new_figure(max(4.0, 0.9 * k + 2), 4.8)
    ax = fig.add_subplot()
    x = np.arange(k)
    means, sds = summary["mean"].to_numpy(float), np.nan_to_num(summary["sd"].to_numpy(float))
    ax.bar(x, means, yerr=sds, capsize=4, color="tab:blue", alpha=0.7, zorder=2)
    top = float(np.nanmax(means + sds)) if np.isfinite(means + sds).any() else 1.0
    if per_subject is not None:
        for p in labels:
            if p not in per_subject.columns:
                continue
            v = per_subject[p].to_numpy(float)
            v = v[np.isfinite(v)]
            ax.scatter(pos[p] + _jitter(v.size, 0.4), v, s=9, color="black", alpha=0.5,
                       zorder=3, linewidths=0)
            if v.size:
                top = max(top, float(v.max()))
    if pairwise is not None and not pairwise.empty:
        _require(pairwise, ["pipeline_a", "pipeline_b", "p_adjusted"], "pairwise table")
        _single_metric(pairwise, "pairwise table")
        sig = pairwise[pairwise["p_adjusted"].astype(float) < alpha]
        sig = sig[sig["pipeline_a"].astype(str).isin(pos) & sig["pipeline_b"].astype(str).isin(pos)]
        # Short brackets first, so nested pairs stack readably.
        spans = sorted(
            ((pos[str(r.pipeline_a)], pos[str(r.pipeline_b)], float(r.p_adjusted))
             for r in sig.itertuples()),
            key=lambda t: (abs(t[1] - t[0]), min(t[0], t[1])),
        )
        step = 0.06 * max(top, 1e-9)
        for level, (i, j, p) in enumerate(spans):
            lo, hi = sorted((i, j))
            y = top + step * (level + 1)
            ax.plot([lo, lo, hi, hi], [y - step * 0.3, y, y, y - step * 0.3], color="black",
                    lw=0.8)
            ax.text((lo + hi) / 2, y, _stars(p), ha="center", va="bottom", fontsize="small")
        if spans:
            ax.set_ylim(top=top + step * (len(spans) + 1.5))
            # Ticks only over the data range: brackets live above it, not on the value scale.
            ticks = [t for t in ax.get_yticks() if t <= top + 1e-9]
            ax.set_yticks(ticks)
        ax.set_title(f"bars: mean \u00b1 sd; stars: {pairwise['correction'].iloc[0]}-adjusted p"
                     if "correction" in pairwise.columns else "bars: mean \u00b1 sd",
                     fontsize="small")
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(means - sds))))
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize="small")
    ax.set_ylabel(metric_name)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, out)


def _annotate_cells(ax, texts: Sequence[Sequence[str | None]], values: np.ndarray | None = None,
                    dark_below: float = 0.6, fontsize: str | float = "x-small",
                    bold_rows: Sequence[bool] | None = None) -> None:
    """Write ``texts[i][j]`` on cell (row i, column j) of a heat map (``None``: left blank), white
    on cells whose ``values`` are below ``dark_below`` (dark in viridis), black elsewhere."""
    for i, row in enumerate(texts):
        for j, text in enumerate(row):
            if text is None:
                continue
            dark = values is not None and values[i, j] < dark_below
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, color="white" if dark else "black",
                    fontweight="bold" if bold_rows is not None and bold_rows[i] else "normal")


def plot_grid_maps(
    maps: np.ndarray,
    titles: Sequence[str],
    out: str | os.PathLike,
    suptitle: str = "",
    cmap: str = "viridis",
    shared_scale: bool = True,
    ncols: int | None = None,
) -> None:
    """One image per panel (e.g. gesture) of values already placed on the physical grid.

    Parameters
    ----------
    maps : np.ndarray
        (panels, rows, cols), e.g. from :meth:`myoflow.layouts.ElectrodeLayout.to_grid`; NaN marks
        a position without an electrode and is drawn blank.
    titles : sequence of str
        One per panel.
    out : path
        PNG to write.
    suptitle : str
        Figure title.
    cmap : str
        Matplotlib colormap name.
    shared_scale : bool
        One colour scale (and colorbar) for all panels, so panels are comparable; otherwise one
        colorbar per panel.
    ncols : int, optional
        Panels per row; default 5 for square-ish grids, 2 for wide ones (e.g. 8 x 24).
    """
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (panels, rows, cols), got shape {maps.shape}")
    if len(titles) != maps.shape[0]:
        raise ValueError(f"{len(titles)} titles for {maps.shape[0]} panels")
    n, rows, cols = maps.shape
    aspect = cols / rows
    if ncols is None:
        ncols = 5 if aspect < 2 else 2
    nrows, ncols = _grid(n, ncols)
    panel_w = 2.6 if aspect < 2 else 4.5
    panel_h = panel_w / aspect + 0.5
    fig = _new_figure(panel_w * ncols + (1.0 if shared_scale else 0), panel_h * nrows + 0.6)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()

    def limits(a: np.ndarray) -> tuple[float, float]:
        finite = a[np.isfinite(a)]
        if finite.size == 0:
            return 0.0, 1.0
        lo, hi = float(finite.min()), float(finite.max())
        return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)

    # No electrode -> transparent, not the colour of some value.
    colormap = matplotlib.colormaps[cmap].with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    vmin, vmax = limits(maps)
    im = None
    for ax, m, title in zip(axes, maps, titles):
        lo, hi = (vmin, vmax) if shared_scale else limits(m)
        im = ax.imshow(np.ma.masked_invalid(m), origin="upper", cmap=colormap, vmin=lo, vmax=hi,
                       interpolation="nearest")
        ax.set_title(str(title), fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
        if not shared_scale:
            fig.colorbar(im, ax=ax, shrink=0.8)
    for ax in axes[n:]:
        ax.set_visible(False)
    if shared_scale and im is not None:
        fig.colorbar(im, ax=list(axes[:n]), shrink=0.8)
    if suptitle:
        fig.suptitle(suptitle)
    _save(fig, out)


def plot_latent_accuracy(
    table: pd.DataFrame,
    out: str | os.PathLike,
    chance: dict[str, float] | None = None,
    title: str = "",
) -> None:
    """Gesture and subject accuracy from pattern vs subject latents (mean +- sd, subject points).

    Parameters
    ----------
    table : pd.DataFrame
        Columns ``latent`` (e.g. "pattern", "subject"), ``target`` ("gesture", "subject"),
        ``subject`` (the held-out subject / fold) and ``value`` (accuracy).
    out : path
        PNG to write.
    chance : dict, optional
        Chance level per target, drawn as a short dashed line over that target's group.
    title : str
        Axes title.
    """
    _require(table, ["latent", "target", "subject", "value"], "latent accuracy table")
    if table.empty:
        raise ValueError("latent accuracy table is empty")
    fig = _new_figure(5.5, 4.2)
    ax = fig.add_subplot()
    _grouped_bars(ax, table, group_col="target", hue_col="latent", unit_col="subject")
    if chance:
        for g, target in enumerate(_order(table["target"])):
            if target in chance:
                ax.hlines(chance[target], g - 0.45, g + 0.45, colors="grey", linestyles="--",
                          lw=1)
    ax.set_xlabel("classified target")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    _save(fig, out)


def plot_accuracy_by_split(
    table: pd.DataFrame,
    out: str | os.PathLike,
    chance: float | None = None,
    title: str = "",
) -> None:
    """Accuracy per split type (sample, repetition, session, subject) for each width multiplier.

    Parameters
    ----------
    table : pd.DataFrame
        Columns ``width``, ``split``, ``value`` and a unit column, ``subject`` if present else
        ``fold``; each unit is one point, repeats of a unit are averaged for display.
    out : path
        PNG to write.
    chance : float, optional
        y-axis starts at chance (drawn dashed) instead of 0.
    title : str
        Axes title.
    """
    _require(table, ["width", "split", "value"], "accuracy-by-split table")
    unit = "subject" if "subject" in table.columns else "fold" if "fold" in table.columns else None
    if unit is None:
        raise ValueError("accuracy-by-split table needs a 'subject' or 'fold' column")
    if table.empty:
        raise ValueError("accuracy-by-split table is empty")
    table = table.assign(width=table["width"].map(lambda w: f"width {w}"))
    n_groups = table["width"].nunique()
    fig = _new_figure(max(5.0, 1.6 * n_groups + 2), 4.2)
    ax = fig.add_subplot()
    _grouped_bars(ax, table, group_col="width", hue_col="split", unit_col=unit)
    if chance is not None:
        ax.axhline(chance, color="grey", ls="--", lw=1)
        ax.set_ylim(chance, 1.0)
    else:
        ax.set_ylim(0, 1.0)
    ax.set_ylabel("accuracy")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or f"mean \u00b1 sd over {unit}s", fontsize="medium")
    _save(fig, out)


def plot_correlation_matrix(
    matrix: np.ndarray,
    labels: Sequence[str],
    out: str | os.PathLike,
    title: str = "",
    annotate: bool = True,
) -> None:
    """Heat map of |r| (0..1) with each value written in its cell.

    Parameters
    ----------
    matrix : np.ndarray
        (k, k) correlations; the absolute value is drawn.
    labels : sequence of str
        k names for rows and columns.
    out : path
        PNG to write.
    title : str
        Axes title (e.g. with the mean off-diagonal |r| computed upstream).
    annotate : bool
        Write values in the cells.
    """
    m = np.abs(np.asarray(matrix, dtype=float))
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix must be square, got shape {m.shape}")
    if len(labels) != m.shape[0]:
        raise ValueError(f"{len(labels)} labels for a {m.shape[0]} x {m.shape[0]} matrix")
    k = m.shape[0]
    size = max(4.0, 0.55 * k + 2)
    fig = _new_figure(size + 1, size)
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(m), cmap="viridis", vmin=0, vmax=1, origin="upper")
    if annotate:
        texts = [[f"{v:.2f}" if np.isfinite(v) else None for v in row] for row in m]
        _annotate_cells(ax, texts, m, fontsize="x-small" if k > 8 else "small")
    ax.set_xticks(range(k), [str(s) for s in labels], rotation=45, ha="right")
    ax.set_yticks(range(k), [str(s) for s in labels])
    fig.colorbar(im, ax=ax, shrink=0.8, label="|r|")
    if title:
        ax.set_title(title)
    _save(fig, out)


def _nonsignificant_groups(
    order: list[str], pairwise: pd.DataFrame, alpha: float
) -> list[tuple[int, int]]:
    """Maximal runs [i, j] of rank-ordered pipelines with no significant pair inside.

    A pair absent from the table (or with NaN p) counts as not significant: no difference shown.
    """
    sig: set[frozenset] = set()
    for r in pairwise.itertuples():
        p = float(r.p_adjusted)
        if np.isfinite(p) and p < alpha:
            sig.add(frozenset((str(r.pipeline_a), str(r.pipeline_b))))
    k = len(order)
    runs = []
    for i in range(k):
        j = i
        while j + 1 < k and all(frozenset((order[m], order[j + 1])) not in sig
                                for m in range(i, j + 1)):
            j += 1
        if j > i:
            runs.append((i, j))
    # Keep only runs not contained in an earlier (longer-reaching) one.
    maximal, reach = [], -1
    for i, j in runs:
        if j > reach:
            maximal.append((i, j))
            reach = j
    return maximal


def plot_critical_difference(
    mean_ranks: pd.Series,
    pairwise: pd.DataFrame,
    out: str | os.PathLike,
    alpha: float = 0.05,
    title: str = "",
) -> None:
    """Critical-difference style diagram from mean ranks and a corrected pairwise table.

    Pipelines sit at their mean rank (1 = best, on the left); runs of rank-adjacent pipelines
    with no pair significant inside (``p_adjusted >= alpha``) are joined by a thick bar.

    Parameters
    ----------
    mean_ranks : pd.Series
        :func:`myoflow.stats.mean_ranks` (index = pipeline label).
    pairwise : pd.DataFrame
        :func:`myoflow.stats.compare_pipelines` pairwise table (``pipeline_a, pipeline_b,
        p_adjusted``).
    out : path
        PNG to write.
    alpha : float
        Significance level applied to ``p_adjusted``.
    title : str
        Axes title.
    """
    _require(pairwise, ["pipeline_a", "pipeline_b", "p_adjusted"], "pairwise table")
    _single_metric(pairwise, "pairwise table")
    ranks = mean_ranks.dropna().sort_values(kind="stable")
    if ranks.empty:
        raise ValueError("no finite mean ranks to draw")
    order = [str(p) for p in ranks.index]
    values = ranks.to_numpy(float)
    k = len(order)
    lo_axis, hi_axis = 1, max(k, int(math.ceil(values.max())))
    half = math.ceil(k / 2)
    groups = _nonsignificant_groups(order, pairwise, alpha)

    y_bottom = -(half + 1) * 0.6 - 0.3 * len(groups)
    height = 0.9 + 0.32 * (1.0 - y_bottom)
    fig = _new_figure(8.0, height, layout=None)
    ax = fig.add_axes((0.22, 0.02, 0.56, 1.0 - 0.5 / height))
    ax.set_xlim(lo_axis - 0.05, hi_axis + 0.05)
    ax.set_ylim(y_bottom, 1.0)
    ax.axis("off")
    # Rank axis with ticks at integer ranks.
    ax.hlines(0, lo_axis, hi_axis, color="black", lw=1)
    for r in range(lo_axis, hi_axis + 1):
        ax.vlines(r, 0, 0.15, color="black", lw=1)
        ax.text(r, 0.25, str(r), ha="center", va="bottom", fontsize="small")
    # Labels: better half to the left, worse half to the right, with elbow lines.
    for idx, (name, value) in enumerate(zip(order, values)):
        left = idx < half
        row = idx if left else k - 1 - idx
        y = -(row + 1) * 0.6 - 0.3 * len(groups)
        x_text = lo_axis - 0.1 if left else hi_axis + 0.1
        ax.plot([value, value, x_text], [0, y, y], color="black", lw=0.8, clip_on=False)
        ax.text(x_text + (-0.05 if left else 0.05), y, f"{name} ({value:.2f})",
                ha="right" if left else "left", va="center", fontsize="small", clip_on=False)
    # Bars joining groups not significantly different, just under the axis.
    for g, (i, j) in enumerate(groups):
        y = -0.25 - 0.3 * g
        ax.hlines(y, values[i] - 0.03, values[j] + 0.03, color="tab:red", lw=3)
    fig.suptitle(title or f"mean rank (1 = best); bars: adjusted p \u2265 {alpha:g}",
                 fontsize="medium")
    _save(fig, out)


def plot_grouped_bar_panels(
    table: pd.DataFrame,
    out: str | os.PathLike,
    panel_cols: Sequence[str],
    group_col: str,
    hue_col: str,
    unit_col: str = "subject",
    ylabel: str = "accuracy",
    chance: dict | float | None = None,
    ncols: int = 3,
    suptitle: str = "",
    reference: dict | None = None,
    reference_label: str = "published",
) -> None:
    """One panel per combination of ``panel_cols`` (e.g. measure x classifier, or dataset), each
    with bars of mean +- sd per (group, hue) and the units as points.

    ``chance``: one value for every panel, or a dict keyed by the group value (drawn over that
    group) or, where the first panel column's value is a key, by that value.
    ``reference``: values keyed by group (e.g. the published accuracy per width), drawn as a red
    marker beside each group's bars in every panel, labelled ``reference_label``; or a dict of
    such dicts keyed by the first panel column's value (only those panels get markers).
    """
    _require(table, [*panel_cols, group_col, hue_col, unit_col, "value"], "bar-panel table")
    if table.empty:
        raise ValueError("bar-panel table is empty")
    panels = list(table.groupby(list(panel_cols), sort=False)) if panel_cols else [((), table)]
    nrows, ncols = _grid(len(panels), ncols)
    fig = _new_figure(4.8 * ncols, 3.8 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
    for ax, (key, rows) in zip(axes, panels):
        key = key if isinstance(key, tuple) else (key,)
        _grouped_bars(ax, rows, group_col=group_col, hue_col=hue_col, unit_col=unit_col)
        panel_chance = chance.get(key[0]) if isinstance(chance, dict) and key and key[0] in chance else chance
        if isinstance(panel_chance, dict):
            for g, group in enumerate(_order(rows[group_col])):
                if group in panel_chance:
                    ax.hlines(panel_chance[group], g - 0.45, g + 0.45, colors="grey", linestyles="--", lw=1)
        elif panel_chance is not None:
            ax.axhline(panel_chance, color="grey", ls="--", lw=1)
        panel_reference = (reference.get(key[0]) if isinstance(reference, dict) and key
                           and isinstance(reference.get(key[0]), dict) else reference)
        if panel_reference:
            marks = [(g, panel_reference[group]) for g, group in enumerate(_order(rows[group_col]))
                     if group in panel_reference]
            if marks:
                xs, ys = zip(*marks)
                ax.plot(np.asarray(xs) + 0.47, ys, "D", color="tab:red", ms=6, ls="none", label=reference_label)
                for x, y in marks:
                    ax.annotate(f"{y:.1%}", (x + 0.47, y), textcoords="offset points", xytext=(0, 5),
                                ha="center", fontsize="x-small", color="tab:red")
                ax.legend(fontsize="x-small", loc="lower left")
        ax.set_title(", ".join(f"{c} {v}" for c, v in zip(panel_cols, key)), fontsize="medium")
        ax.set_xlabel(group_col)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(ylabel)
    if suptitle:
        fig.suptitle(suptitle, fontsize="medium")
    _save(fig, out)


def plot_variant_matrix(
    table: pd.DataFrame,
    out: str | os.PathLike,
    panel_cols: Sequence[str] = ("protocol", "model"),
    metric_name: str = "balanced accuracy",
    ncols: int = 3,
) -> None:
    """Mean score (over subjects) of each training variant (rows) x test variant (columns), one
    heat map per combination of ``panel_cols``; cells are annotated with mean and n."""
    _require(table, [*panel_cols, "train_variant", "test_variant", "subject", "value"], "variant table")
    if table.empty:
        raise ValueError("variant table is empty")
    per_subject = (table.groupby([*panel_cols, "train_variant", "test_variant", "subject"], sort=False)
                   ["value"].mean().reset_index())
    panels = list(per_subject.groupby(list(panel_cols), sort=False))
    nrows, ncols = _grid(len(panels), ncols)
    fig = _new_figure(4.2 * ncols, 3.6 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, (key, rows) in zip(axes, panels):
        key = key if isinstance(key, tuple) else (key,)
        mean = rows.pivot_table(index="train_variant", columns="test_variant", values="value", aggfunc="mean",
                                sort=False)
        count = rows.pivot_table(index="train_variant", columns="test_variant", values="value", aggfunc="count",
                                 sort=False)
        values = mean.to_numpy(float)
        image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        texts = [[f"{values[i, j]:.2f}\nn={int(count.iat[i, j])}" if np.isfinite(values[i, j]) else None
                  for j in range(values.shape[1])] for i in range(values.shape[0])]
        _annotate_cells(ax, texts, values)
        ax.set_xticks(range(mean.shape[1]), list(mean.columns), rotation=30, fontsize="small")
        ax.set_yticks(range(mean.shape[0]), list(mean.index), fontsize="small")
        ax.set_xlabel("test variant")
        ax.set_ylabel("training variant")
        ax.set_title(", ".join(f"{c} {v}" for c, v in zip(panel_cols, key)), fontsize="medium")
        fig.colorbar(image, ax=ax, shrink=0.8, label=metric_name)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    _save(fig, out)


def plot_pareto(
    table: pd.DataFrame,
    out: str | os.PathLike,
    costs: dict[str, str],
    accuracy_cols: dict[str, str],
    panel_col: str = "dataset",
    label_col: str = "width",
    suptitle: str = "",
) -> None:
    """Accuracy against cost, one row of panels per cost and one column per ``panel_col`` value.

    Each accuracy column (e.g. one per split type) is a line through the models sorted by cost;
    the points on its Pareto front (no model both cheaper and more accurate) are filled, the
    dominated ones hollow, and each point is labelled with its ``label_col`` (the width).

    Parameters
    ----------
    costs : dict
        Cost column -> axis label (e.g. ``{"macs": "MACs", "p50_ms": "latency p50 (ms)"}``).
    accuracy_cols : dict
        Accuracy column -> legend label (e.g. ``{"accuracy_subject": "subject"}``); columns absent
        from ``table`` or all-NaN are left out.
    """
    _require(table, [panel_col, label_col, *costs], "Pareto table")
    present = {c: lab for c, lab in accuracy_cols.items() if c in table and table[c].notna().any()}
    if table.empty or not present:
        raise ValueError("Pareto table has no accuracy to plot")
    panels = _order(table[panel_col])
    fig = _new_figure(4.6 * len(panels), 3.6 * len(costs))
    axes = np.asarray(fig.subplots(len(costs), len(panels), squeeze=False))
    colours = matplotlib.colormaps["tab10"]
    for r, (cost, cost_label) in enumerate(costs.items()):
        for c, panel in enumerate(panels):
            ax = axes[r, c]
            rows = table[table[panel_col] == panel].sort_values(cost)
            for k, (col, lab) in enumerate(present.items()):
                pts = rows[[cost, col, label_col]].dropna()
                if pts.empty:
                    continue
                colour = colours(k % 10)
                x, y = pts[cost].to_numpy(float), pts[col].to_numpy(float)
                ax.plot(x, y, "-", color=colour, lw=1, alpha=0.6)
                front = pareto_mask(x, y)
                ax.scatter(x[front], y[front], color=colour, s=30, zorder=3, label=lab)
                ax.scatter(x[~front], y[~front], facecolors="none", edgecolors=colour, s=30, zorder=3)
                for xi, yi, t in zip(x, y, pts[label_col]):
                    ax.annotate(str(t), (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize="x-small")
            ax.set_xlabel(cost_label)
            ax.set_ylabel("accuracy")
            ax.set_title(f"{panel_col} {panel}", fontsize="medium")
            ax.grid(alpha=0.3)
            if r == 0 and c == 0:
                ax.legend(fontsize="x-small", title="split (filled: Pareto front)", title_fontsize="x-small")
    if suptitle:
        fig.suptitle(suptitle, fontsize="medium")
    _save(fig, out)


_MARKERS = "os^vD<>pP*Xh"


def plot_embedding_panels(
    panels: Sequence[tuple[str, np.ndarray]],
    colour: np.ndarray,
    marker: np.ndarray,
    out: str | os.PathLike,
    colour_label: str = "gesture",
    marker_label: str = "subject",
    suptitle: str = "",
) -> None:
    """Side-by-side 2-D embeddings (e.g. t-SNE of data, pattern latent, subject latent) of the
    same points: colour by one label (gesture), marker by another (subject).

    Parameters
    ----------
    panels : sequence of (title, ndarray of shape (n, 2))
    colour, marker : ndarray, shape (n,)
        Labels of the points (any sortable values).
    """
    if not panels:
        raise ValueError("no embedding panels to draw")
    colour, marker = np.asarray(colour), np.asarray(marker)
    for title, xy in panels:
        if np.shape(xy) != (len(colour), 2):
            raise ValueError(f"panel {title!r}: embedding of shape {np.shape(xy)}, expected ({len(colour)}, 2)")
    colours, markers = sorted(np.unique(colour)), sorted(np.unique(marker))
    cmap = matplotlib.colormaps["tab10" if len(colours) <= 10 else "tab20"]
    fig = _new_figure(4.6 * len(panels) + 1.6, 4.4)
    axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)).ravel()
    for ax, (title, xy) in zip(axes, panels):
        for ci, c in enumerate(colours):
            for mi, m in enumerate(markers):
                sel = (colour == c) & (marker == m)
                if sel.any():
                    ax.scatter(xy[sel, 0], xy[sel, 1], s=14, color=cmap(ci % cmap.N),
                               marker=_MARKERS[mi % len(_MARKERS)], alpha=0.8, linewidths=0)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [Line2D([], [], ls="", marker="o", color=cmap(i % cmap.N), label=f"{colour_label} {c}")
               for i, c in enumerate(colours)]
    handles += [Line2D([], [], ls="", marker=_MARKERS[i % len(_MARKERS)], color="grey",
                                        label=f"{marker_label} {m}") for i, m in enumerate(markers)]
    fig.legend(handles=handles, loc="outside right center", fontsize="x-small")
    if suptitle:
        fig.suptitle(suptitle)
    _save(fig, out)


def plot_signed_p_panels(
    panels: Sequence[tuple[str, pd.DataFrame]],
    out: str | os.PathLike,
    ncols: int = 3,
    suptitle: str = "",
) -> None:
    """Heat maps of signed p-values (sign: row condition better than column) between conditions.

    Colour is sign x -log10(p), clipped at 3 (red: the row scores higher, blue: lower); each
    cell shows the p-value and a star below 0.05. Panels are e.g. one per (classifier, test).
    """
    if not panels:
        raise ValueError("no test-matrix panels to draw")
    nrows, ncols = _grid(len(panels), ncols)
    k = max(len(m) for _, m in panels)
    size = max(3.2, 0.6 * k + 1.8)
    fig = _new_figure(size * ncols + 1, size * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    im = None
    for ax, (title, matrix) in zip(axes, panels):
        p = matrix.to_numpy(dtype=float)
        shade = np.sign(p) * np.clip(-np.log10(np.clip(np.abs(p), 1e-12, 1.0)), 0, 3)
        im = ax.imshow(np.ma.masked_invalid(shade), cmap="RdBu_r", vmin=-3, vmax=3)
        _annotate_cells(ax, [[f"{abs(v):.2g}{'*' if abs(v) < 0.05 else ''}" if np.isfinite(v) else None
                              for v in row] for row in p])
        labels = [str(c) for c in matrix.columns]
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), [str(r) for r in matrix.index])
        ax.set_title(title, fontsize="small")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if im is not None:
        fig.colorbar(im, ax=list(axes[: len(panels)]), shrink=0.8, label="sign x -log10 p (row vs column)")
    if suptitle:
        fig.suptitle(suptitle)
    _save(fig, out)


def plot_score_table(
    table: pd.DataFrame,
    out: str | os.PathLike,
    row_col: str,
    column_cols: Sequence[str],
    metric_name: str = "balanced accuracy",
    reference: str | None = None,
    title: str = "",
) -> None:
    """A table drawn as a heat map: one row per ``row_col`` value, one column per combination of
    ``column_cols``; each cell coloured by its mean and annotated "mean +- sd (n)".

    ``table`` holds ``row_col``, ``column_cols``, ``mean``, ``sd`` and ``n`` (e.g.
    :func:`myoflow.studies.crossuser.loss_table`); rows keep the table's order. ``reference`` (a
    row value, e.g. ``ce``) is drawn in bold so the other rows read against it.
    """
    _require(table, [row_col, *column_cols, "mean", "sd", "n"], "score table")
    if table.empty:
        raise ValueError("score table is empty")
    labels = table[list(column_cols)].astype(str).agg("\n".join, axis=1)
    frame = table.assign(column_label=labels.to_numpy())
    rows, cols = list(pd.unique(frame[row_col])), list(pd.unique(frame["column_label"]))
    cell = {(key, col): r for key, col, r in zip(frame[row_col], frame["column_label"],
                                                 frame.itertuples(index=False))}
    values = np.array([[getattr(cell.get((r, c)), "mean", np.nan) for c in cols] for r in rows], float)
    fig = _new_figure(max(4.0, 1.3 * len(cols) + 2.0), max(2.5, 0.42 * len(rows) + 1.8))
    ax = fig.subplots()
    image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    def text(entry) -> str | None:
        if entry is None or not np.isfinite(entry.mean):
            return None
        sd = "" if not np.isfinite(entry.sd) else f" \u00b1 {entry.sd:.2f}"
        return f"{entry.mean:.2f}{sd}\n(n={int(entry.n)})"

    _annotate_cells(ax, [[text(cell.get((r, c))) for c in cols] for r in rows], values,
                    bold_rows=[r == reference for r in rows])
    ax.set_xticks(range(len(cols)), cols, fontsize="x-small")
    ax.set_yticks(range(len(rows)), [str(r) for r in rows], fontsize="small")
    ax.set_xlabel(" / ".join(column_cols))
    ax.set_ylabel(row_col)
    fig.colorbar(image, ax=ax, shrink=0.8, label=f"mean {metric_name}")
    if title:
        ax.set_title(title, fontsize="medium")
    _save(fig, out)


def plot_training_curves(
    history: pd.DataFrame,
    out: str | os.PathLike,
    panel_col: str = "pipeline",
    ncols: int = 3,
) -> None:
    """Training curves, one panel per ``panel_col`` value: training and validation loss per epoch
    (left axis), validation accuracy (right axis) and the epoch whose weights were kept (dashed).

    ``history`` has one row per (panel, epoch): ``epoch`` (0-based), ``train_loss``, ``val_loss``,
    ``val_accuracy`` (NaN without validation data) and ``best_epoch``. A model whose validation
    loss rises from the first epoch, or whose kept epoch is 0, did not learn on the validation data.
    """
    _require(history, [panel_col, "epoch", "train_loss", "val_loss", "val_accuracy", "best_epoch"], "history")
    if history.empty:
        raise ValueError("history is empty")
    panels = list(history.groupby(panel_col, sort=False))
    nrows, ncols = _grid(len(panels), ncols)
    fig = _new_figure(4.4 * ncols, 3.0 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, (name, rows) in zip(axes, panels):
        epochs = rows["epoch"].to_numpy() + 1
        ax.plot(epochs, rows["train_loss"], color="tab:blue", label="train loss")
        val = pd.to_numeric(rows["val_loss"], errors="coerce")
        if val.notna().any():
            ax.plot(epochs, val, color="tab:orange", label="validation loss (CE)")
            twin = ax.twinx()
            twin.plot(epochs, pd.to_numeric(rows["val_accuracy"], errors="coerce"), color="tab:green",
                      ls=":", label="validation accuracy")
            twin.set_ylim(0, 1)
            twin.set_ylabel("validation accuracy", fontsize="small")
        best = rows["best_epoch"].iloc[0]
        if pd.notna(best):
            ax.axvline(int(best) + 1, color="grey", ls="--", lw=1, label=f"kept: epoch {int(best) + 1}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(str(name), fontsize="small")
        handles = ax.get_legend_handles_labels()
        if val.notna().any():  # the twin axis's line in the same legend
            extra = twin.get_legend_handles_labels()
            handles = (handles[0] + extra[0], handles[1] + extra[1])
        ax.legend(*handles, fontsize="x-small", loc="upper right")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    _save(fig, out)


def plot_pca_pair_grid(
    components: np.ndarray,
    labels: np.ndarray,
    out: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    explained: Sequence[float] | None = None,
    title: str = "",
) -> None:
    """Pair grid of principal components (e.g. 4 PCs of a model's test embeddings), points
    coloured by class: component i against j below the diagonal, each component's per-class
    histogram on it.

    Parameters
    ----------
    components : ndarray, shape (n, k)
        The points' coordinates on ``k`` components (k >= 2).
    labels : ndarray, shape (n,)
        Class of every point (integers index ``class_names`` where given).
    explained : sequence of float, optional
        Explained variance ratio of each component, shown in the axis labels.
    """
    components, labels = np.asarray(components, dtype=float), np.asarray(labels)
    if components.ndim != 2 or components.shape[1] < 2 or len(components) != len(labels):
        raise ValueError(f"components must be (n, k >= 2) with one label per row, got {components.shape} "
                         f"and {labels.shape}")
    if len(components) == 0:
        raise ValueError("no points to draw")
    k = components.shape[1]
    classes = sorted(np.unique(labels))
    cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]

    def name(c) -> str:
        return str(class_names[int(c)]) if class_names is not None and 0 <= int(c) < len(class_names) else str(c)

    def axis_label(i: int) -> str:
        return f"PC{i + 1}" + (f" ({100 * explained[i]:.1f} %)" if explained is not None else "")

    fig = _new_figure(2.6 * k + 1.8, 2.6 * k)
    axes = fig.subplots(k, k, squeeze=False)
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
                continue
            for ci, c in enumerate(classes):
                sel = labels == c
                if i == j:
                    ax.hist(components[sel, i], bins=30, color=cmap(ci % cmap.N), alpha=0.5, density=True)
                else:
                    ax.scatter(components[sel, j], components[sel, i], s=4, color=cmap(ci % cmap.N), alpha=0.5,
                               linewidths=0)
            ax.tick_params(labelsize=7)
            if i == k - 1:
                ax.set_xlabel(axis_label(j))
            if j == 0 and i > 0:
                ax.set_ylabel(axis_label(i))
    handles = [Line2D([], [], ls="", marker="o", color=cmap(ci % cmap.N), label=name(c)) for ci, c in enumerate(classes)]
    fig.legend(handles=handles, loc="upper right", title="class", frameon=False)
    if title:
        fig.suptitle(title)
    _save(fig, out)


def plot_incremental_heatmaps(
    table: pd.DataFrame,
    out: str | os.PathLike,
    orderings: Sequence[str],
    metric_name: str = "balanced accuracy",
    title: str = "",
) -> None:
    """One heat map per user ordering: training users (rows) x repetitions per user (columns),
    each cell the mean over test users (annotated mean and sd), one shared colour scale.

    ``table`` holds ``ordering, train_users, train_repetitions, mean, sd`` (one row per cell).
    """
    _require(table, ["ordering", "train_users", "train_repetitions", "mean", "sd"], "incremental table")
    if table.empty:
        raise ValueError("incremental table is empty")
    orderings = [o for o in orderings if o in set(table["ordering"])]
    users = sorted(table["train_users"].unique())
    reps = sorted(table["train_repetitions"].unique())
    lo, hi = float(table["mean"].min()), float(table["mean"].max())
    fig = _new_figure(max(4.0, 0.9 * len(reps) + 2.2) * len(orderings), max(3.0, 0.5 * len(users) + 2.0))
    axes = np.atleast_1d(fig.subplots(1, len(orderings), squeeze=False)).ravel()
    image = None
    for ax, ordering in zip(axes, orderings):
        cells = table[table["ordering"] == ordering].set_index(["train_users", "train_repetitions"])
        values = np.array([[cells["mean"].get((u, r), np.nan) for r in reps] for u in users], float)
        image = ax.imshow(values, cmap="viridis", vmin=lo, vmax=hi if hi > lo else lo + 1e-9, aspect="auto",
                          origin="lower")
        texts = [[f"{cells.at[(u, r), 'mean']:.2f}\n\u00b1{cells.at[(u, r), 'sd']:.2f}"
                  if (u, r) in cells.index else None for r in reps] for u in users]
        _annotate_cells(ax, texts, values, dark_below=(lo + hi) / 2, fontsize=7)
        ax.set_xticks(range(len(reps)), [str(r) for r in reps])
        ax.set_yticks(range(len(users)), [str(u) for u in users])
        ax.set_xlabel("repetitions per gesture")
        ax.set_ylabel("training users")
        ax.set_title(ordering.replace("_", " "))
    fig.colorbar(image, ax=list(axes), label=metric_name, shrink=0.85)
    if title:
        fig.suptitle(title)
    _save(fig, out)


def plot_forest(
    table: pd.DataFrame,
    out: str | os.PathLike,
    label_col: str = "defect",
    group_col: str = "study",
    effect_col: str = "mean_difference",
    metric_name: str = "balanced accuracy",
    title: str = "",
) -> None:
    """A forest plot: one row per ``label_col`` (grouped under ``group_col`` headings, in the
    table's order), its ``effect_col`` as a point with the ``ci_low``..``ci_high`` interval, a
    zero line, and "effect [low, high], p, n" written beside it. ``p`` and ``n`` columns are
    optional. Rows with no CI show the point alone.
    """
    _require(table, [label_col, group_col, effect_col, "ci_low", "ci_high"], "forest table")
    if table.empty:
        raise ValueError("forest table is empty")
    lines: list[tuple[str, pd.Series | None]] = []  # (text, row) from top to bottom; row None = heading
    for group, rows in table.groupby(group_col, sort=False):
        lines.append((str(group), None))
        lines += [(str(r[label_col]), r) for _, r in rows.iterrows()]
    values = table[[effect_col, "ci_low", "ci_high"]].to_numpy(float)
    finite = values[np.isfinite(values)]
    span = max(float(np.abs(finite).max()) if finite.size else 0.0, 1e-3) * 1.15
    longest = max(len(text) for text, _ in lines)
    width = 7.0 + 0.075 * longest  # room for the labels left and the notes right
    fig = _new_figure(width, max(2.5, 0.34 * len(lines) + 1.3), layout=None)  # margins set below
    ax = fig.subplots()
    ax.axvline(0.0, color="0.4", lw=1, ls="--", zorder=1)
    y_positions = np.arange(len(lines))[::-1]
    for y, (_, row) in zip(y_positions, lines):
        if row is None:
            continue
        effect, low, high = float(row[effect_col]), float(row["ci_low"]), float(row["ci_high"])
        if np.isfinite(low) and np.isfinite(high):
            ax.plot([low, high], [y, y], color="C0", lw=2, zorder=2)
        if np.isfinite(effect):
            ax.plot([effect], [y], "s", color="C0", ms=6, zorder=3)
        note = f"{effect:+.3f}"
        if np.isfinite(low) and np.isfinite(high):
            note += f" [{low:+.3f}, {high:+.3f}]"
        if "p" in row and np.isfinite(float(row["p"])):
            note += f"  p={float(row['p']):.2g}"
        if "n" in row and np.isfinite(float(row["n"])):
            note += f"  n={int(row['n'])}"
        ax.text(1.02, y, note, transform=ax.get_yaxis_transform(), ha="left", va="center", fontsize="x-small")
    ax.set_yticks(y_positions, [text if row is None else f"  {text}" for text, row in lines], fontsize="small")
    for tick, (_, row) in zip(ax.get_yticklabels(), lines):
        if row is None:  # a group heading
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(-span, span)
    ax.set_ylim(-0.7, len(lines) - 0.3)
    ax.set_xlabel(f"difference in {metric_name} (defect on - corrected), mean over subjects with 95 % CI")
    if title:
        ax.set_title(title, fontsize="medium")
    left = (0.3 + 0.075 * longest) / width  # ~0.075 in per character of a small label
    fig.subplots_adjust(left=left, right=1 - 2.7 / width, bottom=0.8 / fig.get_figheight(),
                        top=1 - 0.45 / fig.get_figheight())
    _save(fig, out)
