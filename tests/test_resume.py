"""An interrupted run resumes: killed while a training job runs, restarted, it redoes only what was
not finished, and no partial output is ever left behind (every writer goes through
myoflow.io.atomic_path).

Locally (no SLURM needed): the same holds on a cluster, where the Snakemake process on the login node
is the one that dies. The test sends SIGKILL to Snakemake and every job it started (a crash, an OOM
kill, a lost login session): that leaves Snakemake's lock, so a user runs `snakemake --unlock` and
then the same command with `--rerun-incomplete`. (On SIGTERM or Ctrl-C Snakemake instead says "Will
exit after finishing currently running jobs", waits for them, and unlocks itself.)
README: "Running on a cluster (SLURM)" -> "Resuming an interrupted run".
"""
from __future__ import annotations

import gzip
import os
import signal
import subprocess
import time
from pathlib import Path

import h5py
import pandas as pd
import pytest

from workflow_helpers import SNAKEMAKE, make_workdir, snakemake

pytestmark = pytest.mark.slow

TARGET = "results/crossuser/scores.csv"
# fewer users than tiny.yaml (a shorter run); MHCNN trains a fixed number of epochs (no early stop)
SMALLER = """\
datasets:
  epn612:
    synthetic: {n_training_users: 3, n_testing_users: 3}
crossuser:
  train_models: [LDA, MHCNN]   # the default config's other models and sweeps are not needed here
  feature_grid: {models: []}
  architectures: {models: []}
  incremental: {model: null}
  models:
    MHCNN:
      params: {max_epochs: 5, patience: 5}
"""
CONFIG = ["--configfile", "config/config.yaml", "testconfig/tiny.yaml", "smaller.yaml"]
MHCNN_LOG = Path("logs/crossuser/train/crossuser/raw/windows/MHCNN/ce/fold-0.log")
MHCNN_OUT = [Path("results/crossuser/models/crossuser/raw/windows/MHCNN/ce/fold-0.model"),
             Path("results/crossuser/predictions/crossuser/raw/windows/MHCNN/ce/test-raw/fold-0.csv.gz")]


def _outputs(workdir: Path) -> dict[str, int]:
    """Every file under results/ and resources/ -> mtime in ns."""
    files = {}
    for top in ("results", "resources"):
        for p in (workdir / top).rglob("*"):
            if p.is_file():
                files[str(p.relative_to(workdir))] = p.stat().st_mtime_ns
    return files


def _temporaries(files) -> list[str]:
    return [f for f in files if Path(f).name.startswith(".") and f.endswith(".tmp")]


def _check_readable(workdir: Path, path: str) -> None:
    """Open an output the way its reader would: a half-written file fails here."""
    full = workdir / path
    if full.name == ".snakemake_timestamp":  # marker of a directory output, empty by design
        return
    if path.endswith(".h5"):
        with h5py.File(full, "r") as f:
            list(f.keys())
    elif path.endswith(".csv.gz"):
        with gzip.open(full, "rt") as f:
            assert len(pd.read_csv(f)) > 0, path
    elif path.endswith(".validation.csv"):  # no rows where the fold has no validation items
        assert list(pd.read_csv(full).columns) == ["subject", "n_windows", "accuracy", "balanced_accuracy"], path
    elif path.endswith(".csv"):
        assert len(pd.read_csv(full)) > 0, path
    else:
        assert full.stat().st_size > 0, path


def _flagged_incomplete(workdir: Path) -> set[str]:
    """The existing outputs Snakemake itself calls incomplete, from the message a plain re-run stops
    with (the same list a user sees before adding --rerun-incomplete)."""
    plain = snakemake(workdir, TARGET, *CONFIG, "--dry-run", check=False, timeout=300)
    text = plain.stdout + plain.stderr
    if plain.returncode == 0:
        return set()
    assert "IncompleteFilesException" in text and "Incomplete files:" in text, text[-3000:]
    listed = text.split("Incomplete files:", 1)[1].split("\n")
    return {line.strip() for line in listed if line.strip() and (workdir / line.strip()).is_file()}


def _start_and_kill_during_training(workdir: Path, timeout: float = 600) -> dict[str, int]:
    out = open(workdir / "first.out", "w")
    proc = subprocess.Popen([*SNAKEMAKE, TARGET, "--cores", "2", *CONFIG], cwd=workdir,
                            env={**os.environ, "MPLBACKEND": "Agg"}, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if (workdir / MHCNN_LOG).exists() and "epoch" not in (workdir / MHCNN_LOG).read_text():
                break  # the MHCNN training script has started and not finished
            time.sleep(0.2)
        assert proc.poll() is None, (
            f"the run ended (rc={proc.returncode}) before MHCNN training could be interrupted:\n"
            + (workdir / "first.out").read_text()[-3000:])
        assert time.monotonic() < deadline, "MHCNN training never started"
        time.sleep(1.5)  # inside the training epochs
        assert not any((workdir / p).exists() for p in MHCNN_OUT), "MHCNN finished before the kill"
        os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and every job it started
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        out.close()
    time.sleep(1)  # let killed job processes disappear
    return _outputs(workdir)


def test_killed_run_resumes_without_redoing_finished_jobs(tmp_path):
    workdir = make_workdir(tmp_path)
    (workdir / "smaller.yaml").write_text(SMALLER)
    before = _start_and_kill_during_training(workdir)

    assert any(f.startswith("results/store/") for f in before), f"nothing had finished: {sorted(before)}"
    assert not any(str(p) in before for p in MHCNN_OUT), "a partial MHCNN output was left behind"
    assert not _temporaries(before), f"temporary files left by the interrupted run: {_temporaries(before)}"
    for path in before:
        _check_readable(workdir, path)

    # the dead run's lock is still there: Snakemake refuses to start until --unlock
    locked = snakemake(workdir, TARGET, *CONFIG, "--rerun-incomplete", check=False, timeout=300)
    assert locked.returncode != 0 and "cannot be locked" in locked.stdout + locked.stderr, \
        locked.stdout[-2000:] + locked.stderr[-2000:]
    snakemake(workdir, TARGET, *CONFIG, "--unlock", timeout=300)
    flagged = _flagged_incomplete(workdir)
    second = snakemake(workdir, TARGET, *CONFIG, "--rerun-incomplete", timeout=900)

    after = _outputs(workdir)
    redone = sorted(f for f in before if after.get(f) != before[f])
    # A job killed after its output was renamed into place but before Snakemake recorded it as
    # finished is, to Snakemake, incomplete: redoing it is right. Anything else is a finished job redone.
    finished_redone = [f for f in redone if f not in flagged]
    assert not finished_redone, (
        f"finished outputs were rewritten by the resumed run: {finished_redone} "
        f"(flagged incomplete by Snakemake: {sorted(flagged)})")
    assert all(str(p) in after for p in MHCNN_OUT), sorted(after)
    assert TARGET in after
    assert not _temporaries(after), _temporaries(after)
    for path in after:
        _check_readable(workdir, path)
    log = second.stdout + second.stderr
    assert "model=MHCNN" in log and "rule generate_synthetic" not in log, log[-3000:]
    again = snakemake(workdir, TARGET, *CONFIG, "--dry-run", timeout=300)
    assert "Nothing to be done" in again.stdout + again.stderr
