"""The workflow as a user runs it: config errors, lint, a tiny end-to-end run, re-run behaviour."""
from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest

from myoflow.evaluation import GRID_COLUMNS, SCORE_COLUMNS
from myoflow.runsheets import read_sheet, sheet_part
from workflow_helpers import make_workdir, snakemake

TINY = ["--configfile", "config/config.yaml", "testconfig/tiny.yaml"]


def _job_counts(dry_run_output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run -> {rule: count}."""
    table = dry_run_output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        if m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("tiny"))
    snakemake(workdir, *TINY)
    snakemake(workdir, *TINY, "--report", "results/report.html")
    return workdir


@pytest.mark.parametrize(
    "override, expected",
    [
        ("crossuser:\n  windows:\n    lenght: 40\n", r"crossuser\.windows: unknown key\(s\) \['lenght'\]"),
        ("hdcnn:\n  folds: five\n", r"hdcnn\.folds: 'five' is not of type 'integer'"),
        ("disentangle:\n  measures: [rmss]\n", r"disentangle\.measures\.0: 'rmss' is not one of"),
        ("disentangle:\n  classifier_params: {knn: {k: 1}}\n",
         r"disentangle\.classifiers\.knn: unknown parameter\(s\) 'k' for latent classifier 'knn'"),
        ("crossuser:\n  split: {training_users: [0, 1, 999]}\n",
         r"crossuser\.split\.training_users: subject id\(s\) \[999\] are not in dataset 'epn612'"),
        ("hdcnn:\n  train: {lrr: 0.1}\n", r"hdcnn\.train: unknown key\(s\) \['lrr'\]"),
        ("datasets:\n  epn612:\n    sorce: x\n", r"datasets\.epn612: unknown key\(s\) \['sorce'\]"),
    ],
)
def test_bad_config_stops_at_start_naming_the_key(tmp_path, override, expected):
    workdir = make_workdir(tmp_path)
    (workdir / "bad.yaml").write_text(override)
    proc = snakemake(workdir, "--dry-run", "--configfile", "config/config.yaml", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert re.search(expected, proc.stdout + proc.stderr), proc.stderr[-3000:]
    assert not (workdir / "results").exists() and not (workdir / "resources").exists()


def test_missing_real_data_folder_is_named(tmp_path):
    workdir = make_workdir(tmp_path)
    (workdir / "real.yaml").write_text("datasets:\n  epn612:\n    reader: epn612\n    source: /nonexistent/epn\n")
    proc = snakemake(workdir, "--dry-run", "--configfile", "config/config.yaml", "real.yaml", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "datasets.epn612.source" in out and "/nonexistent/epn" in out


def test_cross_session_folds_are_jobs(tmp_path):
    """Two sessions: LOSO within each (3 subjects x 2), cross-session both ways and within-session
    (2 folds per session), per measure."""
    workdir = make_workdir(tmp_path)
    (workdir / "sessions.yaml").write_text(
        "datasets:\n  hyser:\n    synthetic: {n_subjects: 3, sessions: [1, 2]}\n"
        "disentangle:\n  sessions: [1, 2]\n  splits: [loso, cross_session, within_session]\n"
        "  measures: [rms, wl]\n")
    proc = snakemake(workdir, "--dry-run", "--configfile", "config/config.yaml", "sessions.yaml", "--",
                     "disentangle")
    counts = _job_counts(proc.stdout)
    # LOSO 3 subjects x 2 sessions, cross-session 2, within-session 2 folds x 2 sessions
    assert counts["disentangle_train"] == 2 * (3 * 2 + 2 + 2 * 2), proc.stdout[-3000:]
    assert counts["disentangle_classify"] == 2 * 3  # one per (measure, split), every fold in it
    assert counts["disentangle_folds"] == 3
    assert "results/disentangle/latents/corrected/wl/cross_session/fold-1.h5" in proc.stdout
    assert "results/disentangle/predictions/corrected/wl/cross_session.csv.gz" in proc.stdout


def test_lint_has_no_errors(tmp_path):
    workdir = make_workdir(tmp_path)
    proc = snakemake(workdir, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_tiny_run_produces_every_figure_and_the_report(tiny_run):
    for fig in ("crossuser/figures/per_user_balanced_accuracy.png",
                "crossuser/figures/cross_variant.png",
                "crossuser/figures/training_curves.png",
                "crossuser/figures/loss_table.png",
                "crossuser/figures/loss_critical_difference.png",
                "crossuser/figures/per_user_metrics.png",
                "crossuser/figures/feature_grid.png",
                "crossuser/figures/architectures_critical_difference.png",
                "crossuser/figures/embeddings_pca.png",
                "disentangle/figures/reconstruction_maps.png",
                "disentangle/figures/latent_accuracy.png",
                "disentangle/figures/measure_table.png",
                "disentangle/figures/correlation_array.png",
                "disentangle/figures/tsne.png",
                "disentangle/figures/measure_tests.png",
                "hdcnn/figures/accuracy_by_split.png",
                "hdcnn/figures/pareto.png",
                "audit/figures/forest.png"):
        path = tiny_run / "results" / fig
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", fig
    report = (tiny_run / "results" / "report.html").read_text(errors="replace")
    assert "per_user_balanced_accuracy.png" in report
    assert "System Message" not in report  # a caption's reStructuredText error shows as a red box
    costs = pd.read_csv(tiny_run / "results" / "hdcnn" / "model_costs.csv")
    assert len(costs) >= 4
    deployment = pd.read_csv(tiny_run / "results" / "hdcnn" / "deployment.csv")
    assert set(deployment["dataset"]) == {"icelab", "csl"}
    assert (deployment["max_abs_logit_diff"] < 1e-4).all() and (deployment["p99_ms"] >= deployment["p50_ms"]).all()
    assert {"accuracy_sample", "accuracy_repetition", "accuracy_subject", "accuracy_finetune"} <= set(deployment.columns)


TINY_FIGURES = (
    "per_user_balanced_accuracy.png", "cross_variant.png", "training_curves.png", "loss_table.png",
    "loss_critical_difference.png", "per_user_metrics.png", "feature_grid.png",
    "architectures_critical_difference.png", "embeddings_pca.png", "incremental.png", "reconstruction_maps.png",
    "latent_accuracy.png", "measure_table.png", "correlation_array.png", "tsne.png", "measure_tests.png",
    "accuracy_by_split.png", "pareto.png", "forest.png",
)


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def test_report_renders_in_headless_chromium(tiny_run):
    """results/report.html opened in a real browser: its scripts run without an error, the page
    is rendered (the study sections in its menu) and lists every figure. .ci/run installs the
    Debian package where it can; elsewhere this skips."""
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (.ci/run installs the Debian package `chromium` where apt can)")
    report = tiny_run / "results" / "report.html"
    proc = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=15000", "--dump-dom", report.resolve().as_uri()],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    errors = [line for line in console if "ERROR:CONSOLE" in line or "Uncaught" in line]
    assert not errors, "\n".join(errors)
    dom = proc.stdout
    for section in ("Cross-user (EMG-EPN-612)", "Disentanglement (Hyser)", "HD-CNN (MobileNetV2)",
                    "Statistical tests", "Protocol audit", "Published vs reproduced", "Provenance and cost"):
        assert section in dom, f"{section!r} not in the rendered menu"
    missing = [f for f in TINY_FIGURES if f not in dom]
    assert not missing, f"figures not listed in the rendered report: {missing}"
    assert "System Message" not in dom


def test_score_tables_carry_every_grid_dimension_of_the_run_sheets(tiny_run):
    results = tiny_run / "results"
    cu = pd.read_csv(results / "crossuser" / "scores.csv")
    assert list(cu.columns) == SCORE_COLUMNS
    assert set(cu["model"]) == {"LDA", "MLP", "LSTM_HCF", "CNN_HCF", "LSTM", "CNN", "MHCNN"}
    assert set(cu["protocol"]) == {"crossuser", "within_user", "within_user_finetune", "incremental"}
    inc = cu[cu.protocol == "incremental"]
    assert set(inc["split"]) == {"worst_first", "best_first"} and set(inc["train_users"].astype(str)) == {"1", "3"}
    assert set(cu.loc[cu.protocol == "within_user", "train_repetitions"].astype(str)) == {"1", "2"}  # the r sweep
    tuned = cu[cu.protocol == "within_user_finetune"]  # MHCNN per test user, from its cross-user weights
    assert set(tuned["model"]) == {"MHCNN"} and set(tuned["train_repetitions"].astype(str)) == {"1", "2"}
    assert set(tuned["subject"]) == set(cu.loc[cu.protocol == "within_user", "subject"])
    # the feature grid: every feature model on every group of tiny.yaml
    grid = cu[cu["model"].isin(["LDA", "MLP", "LSTM_HCF", "CNN_HCF"]) & (cu.protocol == "crossuser")]
    assert set(map(tuple, grid[["model", "features"]].drop_duplicates().to_numpy())) == {
        (m, g) for m in ("LDA", "MLP", "LSTM_HCF", "CNN_HCF") for g in ("HTD", "RMS")}
    selection = pd.read_csv(results / "crossuser" / "architectures" / "selection.csv")
    assert list(selection["model"]) == ["LDA", "MLP", "LSTM_HCF", "CNN_HCF", "LSTM", "CNN", "MHCNN"]
    assert selection.loc[selection.model == "MHCNN", "features"].item() == "windows"
    assert selection.loc[:3, "validation_balanced_accuracy"].notna().all()  # chosen on validation users
    assert set(cu["test_variant"]) == {"raw", "standard"} and set(cu["train_variant"]) == {"raw"}
    assert set(cu["norm"]) == {"none", "cumulative", "ema"}  # each model scored with and without RunningNorm
    assert set(cu.loc[cu["model"] == "MHCNN", "loss"]) == {"ce", "grl"}  # the loss sweep
    losses = pd.read_csv(results / "crossuser" / "losses" / "table.csv")
    assert set(losses["loss"]) == {"ce", "grl"} and set(losses["norm"]) == {"none", "cumulative", "ema"}
    curves = pd.read_csv(results / "crossuser" / "training_curves.csv")
    assert set(curves["loss"]) == {"ce", "grl"} and curves["val_loss"].notna().all()
    dis = pd.read_csv(results / "disentangle" / "scores.csv")
    assert set(dis["measure"]) == {"rms", "td"}
    assert set(dis["classifier"]) == {"knn", "svm", "rf", "ann"} and set(dis["latent"]) == {"pattern", "subject"}
    assert set(dis["protocol"]) == {"corrected", "test_set_epoch"} and set(dis["split"]) == {"loso"}
    # the test-set epoch choice changes only the network classifier
    wide = dis.pivot_table(index=["measure", "classifier", "latent", "fold", "subject", "metric"],
                           columns="protocol", values="value")
    same = (wide["corrected"] == wide["test_set_epoch"]).groupby(level="classifier").all()
    assert same[["knn", "svm", "rf"]].all()
    table = pd.read_csv(results / "disentangle" / "measure_table.csv")
    assert set(table["measure"]) == {"rms", "td"} and {"knn_mean", "ann_sd", "published"} <= set(table.columns)
    hd = pd.read_csv(results / "hdcnn" / "scores.csv", dtype={"width": str})
    assert set(hd["width"]) == {"0.2"} and set(hd["dataset"]) == {"icelab", "csl"}
    assert set(hd["split"]) == {"sample", "repetition", "session", "subject", "finetune"}
    for study, scores_file, audit_only in (("crossuser", "crossuser/scores.csv", False),
                                           ("disentangle", "disentangle/scores.csv", False),
                                           ("hdcnn", "hdcnn/scores.csv", False),
                                           ("disentangle", "audit/disentangle_scores.csv", True),
                                           ("hdcnn", "audit/hdcnn_scores.csv", True)):
        # the study's own rows in its score table, the rows run only for the audit in the audit's
        sheet = sheet_part(read_sheet(results / study / "runs.tsv"), audit_only)
        scores = pd.read_csv(results / scores_file, dtype={"width": str})
        keys = [c for c in GRID_COLUMNS if c != "fold"]
        sheet_points = set(map(tuple, sheet[keys].astype(str).to_numpy()))
        score_points = set(map(tuple, scores[keys].astype(str).to_numpy()))
        assert score_points == sheet_points, scores_file
        summary = pd.read_csv(results / study / "stats" / "summary.csv")
        assert len(summary) >= 2, study
    audit = pd.read_csv(results / "audit" / "table.csv")
    assert {"crossuser", "disentangle", "hdcnn"} == set(audit["study"])


def test_second_run_has_nothing_to_do(tiny_run):
    proc = snakemake(tiny_run, *TINY, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def _dry_run_counts(workdir, override: str) -> tuple[dict[str, int], str]:
    (workdir / "change.yaml").write_text(override)
    proc = snakemake(workdir, *TINY, "change.yaml", "--dry-run")
    out = proc.stdout + proc.stderr
    return _job_counts(out), out


def test_changing_one_model_param_reruns_only_its_jobs(tiny_run):
    counts, out = _dry_run_counts(tiny_run, "crossuser:\n  models:\n    MHCNN:\n      params:\n        lr: 0.001\n")
    assert counts == {
        "all": 1,
        "crossuser_train": 4,       # the MHCNN fold, once per loss (ce, grl), and the within-user MHCNN
        "crossuser_predict": 4,     # fine-tuned from it (per r); LDA and the within-user LDA untouched
        "crossuser_scores": 1,
        "study_stats": 1,
        "crossuser_figure_per_user": 1,
        "crossuser_figure_cross_variant": 1,
        "crossuser_losses": 1,
        "crossuser_training_curves": 1,
        "crossuser_figure_embeddings": 1,  # MHCNN's test embeddings
        "crossuser_feature_grid": 1,       # the tables that read the score table
        "crossuser_architectures": 1,
        "crossuser_incremental": 1,
        "published_vs_reproduced": 1,      # the report's tables: published vs reproduced, the
        "provenance": 1,                   # resolved config (a config change re-runs it), the
        "cost_table": 1,                   # cost of the run
    }, out[-3000:]  # the audit's cross-user jobs (LDA, LSTM_HCF) and table do not read MHCNN
    assert "model=MHCNN" in out and "model=LDA" not in out
    assert "study=crossuser" in out


def test_adding_a_within_user_model_trains_only_its_folds(tiny_run):
    counts, out = _dry_run_counts(tiny_run, "crossuser:\n  within_user:\n    models: [LDA, MHCNN]\n")
    n_r = 2  # tiny: r in {1, 2}; one job fits every test user's model
    assert counts == {
        "all": 1,
        "crossuser_run_sheet": 1,
        "crossuser_train": n_r,    # within-user MHCNN (its own loss) only: no LDA, no
        "crossuser_predict": n_r,  # cross-user retraining
        "crossuser_scores": 1,
        "study_stats": 1,
        "crossuser_figure_per_user": 1,
        "crossuser_figure_cross_variant": 1,
        "crossuser_losses": 1,                    # these read the score table
        "crossuser_feature_grid": 1,
        "crossuser_architectures": 1,
        "crossuser_incremental": 1,
        "published_vs_reproduced": 1,      # the report's tables: published vs reproduced, the
        "provenance": 1,                   # resolved config (a config change re-runs it), the
        "cost_table": 1,                   # cost of the run
    }, out[-3000:]
    assert "crossuser_folds" not in counts


def test_changing_one_latent_classifier_reruns_only_the_classification(tiny_run):
    counts, out = _dry_run_counts(tiny_run, "disentangle:\n  classifier_params:\n    svm: {C: 0.5}\n")
    n_protocols, n_measures = 2, 2
    assert counts == {
        "all": 1,
        # one classification job per (protocol, measure) runs every classifier on every fold's
        # latents (one process start instead of one per fold and classifier); no model is retrained
        "disentangle_classify": n_protocols * n_measures,
        "disentangle_scores": 1,
        "study_stats": 1,
        "disentangle_figure_latents": 1,
        "disentangle_measure_table": 1,
        "disentangle_figure_stats": 1,
        "audit_table": 1,  # reads the score table (the audit's own ANN-only jobs are untouched)
        "published_vs_reproduced": 1,      # the report's tables: published vs reproduced, the
        "provenance": 1,                   # resolved config (a config change re-runs it), the
        "cost_table": 1,                   # cost of the run
    }, out[-3000:]


def test_adding_a_width_trains_only_that_width(tiny_run):
    counts, out = _dry_run_counts(tiny_run, "hdcnn:\n  widths: [0.2, 0.7]\n")
    sheet = sheet_part(read_sheet(tiny_run / "results" / "hdcnn" / "runs.tsv"), audit_only=False)
    n_new = int((sheet["width"] == "0.2").sum())  # the study's jobs (the audit's run on the first width only)
    assert counts == {
        "all": 1,
        "hdcnn_run_sheet": 1,
        "hdcnn_train": n_new,
        "hdcnn_export": 2,           # the new width's models to ONNX, one job per dataset
        "hdcnn_latency": 2,          # the new width on each dataset's images
        "hdcnn_scores": 1,
        "hdcnn_deployment": 1,
        "hdcnn_model_costs": 1,
        "study_stats": 1,
        "hdcnn_figure_accuracy": 1,
        "hdcnn_figure_pareto": 1,
        "audit_scores_hdcnn": 1,  # reads the run sheet; its jobs (the first width) are not re-run
        "audit_table": 1,
        "published_vs_reproduced": 1,      # the report's tables: published vs reproduced, the
        "provenance": 1,                   # resolved config (a config change re-runs it), the
        "cost_table": 1,                   # cost of the run
    }, out[-3000:]
    assert "width=0.2" not in out


def test_one_study_runs_alone_by_its_target_name(tiny_run):
    proc = snakemake(tiny_run, *TINY, "--dry-run", "hdcnn")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_failed_job_shows_the_error_naming_the_file_on_screen(tmp_path):
    workdir = make_workdir(tmp_path)
    store = "results/store/icelab/sub-001_ses-1.h5"
    snakemake(workdir, store, *TINY)
    (workdir / store).write_bytes(b"not an HDF5 file")
    proc = snakemake(workdir, "results/hdcnn/images/icelab/grid.h5", *TINY, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "myoflow error" in out and store in out, out[-3000:]
    assert not (workdir / "results/hdcnn/images/icelab/grid.h5").exists()
