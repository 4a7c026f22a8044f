"""The workflow as a user runs it: config errors, lint, a tiny end-to-end run, re-run behaviour."""
from __future__ import annotations

import re

import pandas as pd
import pytest

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
        ("disentangle:\n  measure: rmss\n", r"disentangle\.measure: 'rmss' is not one of"),
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


def test_lint_has_no_errors(tmp_path):
    workdir = make_workdir(tmp_path)
    proc = snakemake(workdir, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_tiny_run_produces_every_figure_and_the_report(tiny_run):
    for fig in ("crossuser/figures/per_user_balanced_accuracy.png",
                "disentangle/figures/reconstruction_maps.png",
                "disentangle/figures/latent_accuracy.png",
                "hdcnn/figures/accuracy_by_split.png"):
        path = tiny_run / "results" / fig
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", fig
    report = (tiny_run / "results" / "report.html").read_text(errors="replace")
    assert "per_user_balanced_accuracy.png" in report
    scores = pd.read_csv(tiny_run / "results" / "crossuser" / "scores.csv")
    assert set(scores["model"]) == {"LDA", "MHCNN"}
    assert set(scores["protocol"]) == {"crossuser", "within_user"}
    costs = pd.read_csv(tiny_run / "results" / "hdcnn" / "model_costs.csv")
    assert len(costs) >= 4


def test_second_run_has_nothing_to_do(tiny_run):
    proc = snakemake(tiny_run, *TINY, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_changing_one_model_param_reruns_only_its_jobs(tiny_run):
    (tiny_run / "lr.yaml").write_text("crossuser:\n  models:\n    MHCNN:\n      params:\n        lr: 0.001\n")
    proc = snakemake(tiny_run, *TINY, "lr.yaml", "--dry-run")
    out = proc.stdout + proc.stderr
    assert _job_counts(out) == {
        "all": 1,
        "crossuser_train": 1,       # the MHCNN fold only; LDA and the within-user LDA folds untouched
        "crossuser_scores": 1,
        "study_stats": 1,
        "crossuser_figure_per_user": 1,
    }, out[-3000:]
    assert "model=MHCNN" in out and "model=LDA" not in out
    assert "study=crossuser" in out
