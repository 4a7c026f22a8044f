"""Figures: each function writes a real, non-blank PNG, atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from myoflow import plots, stats  # noqa: E402
from myoflow.layouts import hyser_16x16, icelab_8x24  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path, min_side: int = 200) -> None:
    assert path.exists(), f"{path} not written"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    img = mpimg.imread(path)
    assert img.ndim == 3 and min(img.shape[:2]) >= min_side
    assert float(img[..., :3].var()) > 0, "blank image"
    # Nothing left behind: no temporary files beside the output.
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert plt.get_fignums() == []


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for j, model in enumerate(["LDA", "MLP", "MHCNN", "CNN"]):
        for s in range(8):
            for fold in range(2):
                rows.append(dict(study="crossuser", dataset="epn612", variant="raw",
                                 features="HTD", model=model, loss="none", protocol="crossuser",
                                 fold=fold, subject=s, metric="balanced_accuracy",
                                 value=float(np.clip(0.6 + 0.08 * j + rng.normal(0, 0.05), 0, 1))))
    return pd.DataFrame(rows)


def test_per_user_bars(tmp_path, scores):
    per_user = stats.per_subject_long(scores, "balanced_accuracy", ["model"])
    out = tmp_path / "per_user.png"
    plots.plot_per_user_bars(per_user, out, "balanced accuracy", chance=0.2)
    assert_png(out)


def test_pipeline_comparison_and_critical_difference(tmp_path, scores):
    cols = ["model"]
    summary = stats.summarize(scores, "balanced_accuracy", cols)
    _, pairwise = stats.compare_pipelines(scores, "balanced_accuracy", cols, n_boot=200)
    wide = stats.per_subject(scores, "balanced_accuracy", cols)
    out = tmp_path / "cmp.png"
    plots.plot_pipeline_comparison(summary, pairwise, out, "balanced accuracy", per_subject=wide)
    assert_png(out)
    plots.plot_pipeline_comparison(summary, None, tmp_path / "plain.png", "balanced accuracy")
    assert_png(tmp_path / "plain.png")
    cd = tmp_path / "cd.png"
    plots.plot_critical_difference(stats.mean_ranks(wide), pairwise, cd)
    assert_png(cd, min_side=150)


def test_critical_difference_groups():
    pairwise = pd.DataFrame({
        "pipeline_a": ["A", "A", "B"], "pipeline_b": ["B", "C", "C"],
        "p_adjusted": [0.5, 0.01, 0.2],
    })
    # A-B and B-C not different, A-C different -> two overlapping groups.
    assert plots._nonsignificant_groups(["A", "B", "C"], pairwise, 0.05) == [(0, 1), (1, 2)]
    pairwise["p_adjusted"] = 0.9
    assert plots._nonsignificant_groups(["A", "B", "C"], pairwise, 0.05) == [(0, 2)]
    pairwise["p_adjusted"] = 0.001
    assert plots._nonsignificant_groups(["A", "B", "C"], pairwise, 0.05) == []


def test_grid_maps_with_blank_positions(tmp_path):
    rng = np.random.default_rng(1)
    maps = hyser_16x16().to_grid(rng.random((10, 256)))
    out = tmp_path / "maps.png"
    plots.plot_grid_maps(maps, [f"gesture {i}" for i in range(10)], out, "pattern maps")
    assert_png(out)
    wide = icelab_8x24().to_grid(rng.random((3, 192)))
    wide[:, 0, :4] = np.nan
    out2 = tmp_path / "maps_wide.png"
    plots.plot_grid_maps(wide, ["a", "b", "c"], out2, "ICE", cmap="magma", shared_scale=False)
    assert_png(out2)
    with pytest.raises(ValueError, match="titles"):
        plots.plot_grid_maps(maps, ["only one"], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_latent_accuracy(tmp_path):
    rng = np.random.default_rng(2)
    table = pd.DataFrame([
        dict(latent=lat, target=tgt, subject=s, value=rng.random())
        for lat in ["pattern", "subject"] for tgt in ["gesture", "subject"] for s in range(6)
    ])
    out = tmp_path / "latent.png"
    plots.plot_latent_accuracy(table, out, chance={"gesture": 0.1, "subject": 0.05})
    assert_png(out)


def test_accuracy_by_split(tmp_path):
    rng = np.random.default_rng(3)
    table = pd.DataFrame([
        dict(width=w, split=sp, fold=f, value=0.6 + 0.4 * rng.random())
        for w in [1.0, 0.7, 0.4, 0.2] for sp in ["sample", "repetition", "subject"]
        for f in range(4)
    ])
    out = tmp_path / "split.png"
    plots.plot_accuracy_by_split(table, out, chance=1 / 7)
    assert_png(out)


def test_correlation_matrix(tmp_path):
    rng = np.random.default_rng(4)
    r = np.corrcoef(rng.random((5, 40)))
    out = tmp_path / "corr.png"
    plots.plot_correlation_matrix(r, list("abcde"), out, "|r| between gesture maps")
    assert_png(out)


def test_exception_while_saving_leaves_no_file(tmp_path, monkeypatch, scores):
    def broken_savefig(self, fname, **kwargs):
        Path(fname).write_bytes(PNG_SIGNATURE + b"half a figure")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    out = tmp_path / "sub" / "fig.png"
    with pytest.raises(RuntimeError, match="disk full"):
        plots.plot_correlation_matrix(np.eye(3), list("abc"), out, "x")
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_exception_while_drawing_leaves_no_file(tmp_path, scores):
    out = tmp_path / "fig.png"
    bad = stats.per_subject_long(scores, "balanced_accuracy", ["model"]).drop(columns="value")
    with pytest.raises(ValueError, match="value"):
        plots.plot_per_user_bars(bad, out, "balanced accuracy")
    with pytest.raises(ValueError, match="square"):
        plots.plot_correlation_matrix(np.ones((2, 3)), ["a", "b"], out, "x")
    assert list(tmp_path.iterdir()) == []


def test_multi_metric_tables_refused(tmp_path, scores):
    summary = stats.summarize(scores, "balanced_accuracy", ["model"])
    two = pd.concat([summary, summary.assign(metric="accuracy")])
    with pytest.raises(ValueError, match="several metrics"):
        plots.plot_pipeline_comparison(two, None, tmp_path / "x.png", "m")
    assert not (tmp_path / "x.png").exists()


def test_embedding_and_signed_p_panels(tmp_path):
    rng = np.random.default_rng(0)
    g, s = np.repeat(np.arange(3), 10), np.tile(np.arange(2), 15)
    out = tmp_path / "tsne.png"
    plots.plot_embedding_panels([("data", rng.normal(size=(30, 2))), ("pattern", rng.normal(size=(30, 2)))],
                                g, s, out, suptitle="t")
    assert out.stat().st_size > 0
    with pytest.raises(ValueError, match=r"expected \(30, 2\)"):
        plots.plot_embedding_panels([("bad", np.zeros((5, 2)))], g, s, tmp_path / "bad.png")
    m = pd.DataFrame([[np.nan, 0.01], [-0.01, np.nan]], index=["rms", "wl"], columns=["rms", "wl"])
    out = tmp_path / "p.png"
    plots.plot_signed_p_panels([("knn: paired", m), ("knn: source", m)], out, ncols=2)
    assert out.stat().st_size > 0 and not (tmp_path / "bad.png").exists()


def test_bar_panels_reference_keyed_by_panel(tmp_path, monkeypatch):
    """A reference keyed by the first panel column marks only that panel (the published ICE Lab
    accuracies do not belong on the CSL panel); chance may differ per panel."""
    rows = [{"dataset": d, "width": w, "split": s, "subject": f, "value": 0.5 + 0.1 * f}
            for d in ("icelab", "csl") for w in ("width 0.2", "width 0.4") for s in ("sample", "subject")
            for f in (0, 1)]
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, out: figures.append(fig))
    plots.plot_grouped_bar_panels(pd.DataFrame(rows), tmp_path / "bars.png", panel_cols=["dataset"],
                                  group_col="width", hue_col="split", chance={"icelab": 1 / 7, "csl": 1 / 5},
                                  reference={"icelab": {"width 0.2": 0.973, "width 0.4": 0.979}})
    axes = {ax.get_title(): ax for ax in figures[0].axes if ax.get_title()}
    markers = {t: [ln for ln in ax.get_lines() if ln.get_marker() == "D"] for t, ax in axes.items()}
    assert len(markers["dataset icelab"]) == 1 and list(markers["dataset icelab"][0].get_ydata()) == [0.973, 0.979]
    assert markers["dataset csl"] == []
    chance = {t: [ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--"] for t, ax in axes.items()}
    assert chance == {"dataset icelab": [pytest.approx(1 / 7)], "dataset csl": [pytest.approx(1 / 5)]}
    plt.close("all")


def test_score_table_and_training_curves_write_pngs(tmp_path):
    from myoflow.plots import plot_score_table, plot_training_curves

    table = pd.DataFrame({"loss": ["ce", "trp", "ce", "trp"], "norm": ["none", "none", "ema", "ema"],
                          "mean": [0.6, 0.65, 0.7, 0.72], "sd": [0.1, 0.12, 0.1, float("nan")], "n": [6] * 4})
    plot_score_table(table, tmp_path / "t.png", row_col="loss", column_cols=["norm"], reference="ce")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    history = pd.DataFrame({"pipeline": ["a"] * 3 + ["b"] * 2, "epoch": [0, 1, 2, 0, 1],
                            "train_loss": [1.0, 0.8, 0.7, 1.2, 1.1], "val_loss": [1.1, 0.9, 1.0, None, None],
                            "val_accuracy": [0.5, 0.6, 0.55, None, None], "best_epoch": [1, 1, 1, 1, 1]})
    plot_training_curves(history, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="lacks column"):
        plot_score_table(table.drop(columns="sd"), tmp_path / "x.png", row_col="loss", column_cols=["norm"])
    assert not (tmp_path / "x.png").exists()


def test_pca_recovers_the_dominant_direction_and_the_pair_grid_draws(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 50)
    X = rng.normal(0, 0.1, (150, 16))
    X[:, 3] += 5.0 * labels  # the classes differ along one axis only
    comps, explained = stats.pca(X, 4)
    assert comps.shape == (150, 4) and explained[0] > 0.9 and np.all(np.diff(explained) <= 0)
    # PC1 orders the classes; signs are fixed, so a second call gives the same numbers
    assert np.abs(np.corrcoef(comps[:, 0], labels)[0, 1]) > 0.99
    np.testing.assert_array_equal(stats.pca(X, 4)[0], comps)
    out = tmp_path / "pca.png"
    plots.plot_pca_pair_grid(comps, labels, out, class_names=["rest", "fist", "open"], explained=explained,
                             title="test")
    assert_png(out)
    with pytest.raises(ValueError, match="components must be"):
        plots.plot_pca_pair_grid(comps[:, :1], labels, out)


def test_incremental_heatmaps_draw_one_panel_per_ordering(tmp_path):
    cells = [{"ordering": o, "train_users": u, "train_repetitions": r, "mean": 0.4 + 0.05 * u + 0.02 * r, "sd": 0.1}
             for o in ("worst_first", "random") for u in (1, 4) for r in (1, 2)]
    out = tmp_path / "inc.png"
    plots.plot_incremental_heatmaps(pd.DataFrame(cells), out, ["worst_first", "best_first", "random"], title="t")
    assert_png(out)
    with pytest.raises(ValueError, match="incremental table is empty"):
        plots.plot_incremental_heatmaps(pd.DataFrame(cells).iloc[:0], out, ["random"])


def test_forest_plot_groups_rows_by_study(tmp_path):
    table = pd.DataFrame({
        "study": ["crossuser", "crossuser", "hdcnn"],
        "defect": ["cropped_raw", "comb_without_ar9", "sample_split"],
        "mean_difference": [0.031, -0.002, 0.25], "ci_low": [0.01, -0.01, 0.2], "ci_high": [0.05, 0.004, np.nan],
        "p": [0.01, 0.6, 0.001], "n": [6, 6, 3],
    })
    plots.plot_forest(table, tmp_path / "forest.png", title="audit")
    assert_png(tmp_path / "forest.png")
    with pytest.raises(ValueError, match="forest table is empty"):
        plots.plot_forest(table.iloc[:0], tmp_path / "empty.png")
    with pytest.raises(ValueError, match="ci_low"):
        plots.plot_forest(table.drop(columns="ci_low"), tmp_path / "bad.png")
    assert not (tmp_path / "empty.png").exists()
