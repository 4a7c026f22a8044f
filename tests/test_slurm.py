"""The SLURM profile against a real single-node SLURM (Debian's slurm-wlm, see tests/slurm_cluster.py).

One module fixture installs and starts the cluster (munged, mariadbd, slurmdbd, slurmctld, slurmd)
and stops every daemon it started, by PID, when this module's tests end, also after a failure. Then three
Snakemake runs go side by side (most of a SLURM run is waiting for status checks):

- the cross-user study of the tiny config through ``profiles/slurm`` (``--executor slurm``);
- the same config and target locally, in another scratch directory: the score tables must be equal;
- a one-rule Snakefile whose job always fails: it must be reported failed and submitted
  1 + ``retries`` times with memory growing with the attempt.

The tests skip, naming the reason, where the cluster cannot run (not root, no apt-get, offline,
a daemon that does not start). The profile checks at the bottom need no cluster.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from slurm_cluster import Cluster, ClusterUnavailable, install
from workflow_helpers import REPO, SNAKEMAKE, make_workdir

PROFILE = REPO / "profiles" / "slurm"
GPU_PROFILE = REPO / "profiles" / "slurm-gpu"
TARGET = "results/crossuser/scores.csv"
CONFIG = ["--configfile", "config/config.yaml", "testconfig/tiny.yaml", "testconfig/slurm.yaml"]
SLURM_ARGS = ["--profile", str(PROFILE), "--executor", "slurm", "--slurm-init-seconds-before-status-checks", "5"]
RUN_TIMEOUT = 900  # seconds for each Snakemake run (about 3 minutes on 2 cores)
TRAIN_RULES = ("crossuser_train", "disentangle_train", "hdcnn_train")

FAILING_SNAKEFILE = """\
# Always fails: the SLURM test checks the failure is reported and the job retried per the profile.
rule always_fails:
    output:
        "never.txt",
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 100 * attempt,
        runtime=5,
    shell:
        "echo myoflow-attempt-failing >&2; exit 3"
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    try:
        install()
    except ClusterUnavailable as err:
        pytest.skip(f"no SLURM test cluster: {err}")
    cluster = Cluster(tmp_path_factory.mktemp("slurm"))
    try:
        try:
            cluster.start()
        except ClusterUnavailable as err:
            pytest.skip(f"SLURM test cluster did not start: {err}")
        yield cluster
    finally:
        cluster.stop()


class Run:
    """One Snakemake process in the background, output to files, killed (its group) on timeout."""

    def __init__(self, name: str, workdir: Path, args: list[str]):
        self.name, self.workdir = name, workdir
        self.out = workdir / f"{name}.out"
        env = {**os.environ, "MPLBACKEND": "Agg"}
        env.pop("MYOFLOW_SLURM_PARTITION", None)  # the test cluster's default partition
        env.pop("MYOFLOW_SLURM_ACCOUNT", None)
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen([*SNAKEMAKE, *args], cwd=workdir, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.returncode: int | None = None

    def wait(self, deadline: float) -> int:
        try:
            self.returncode = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
            self.returncode = -999
        return self.returncode

    def output(self, chars: int = 6000) -> str:
        return self.out.read_text(errors="replace")[-chars:]


def _sacct() -> pd.DataFrame:
    proc = subprocess.run(["sacct", "-X", "-n", "-P", "--format=JobID,Comment,ReqMem,ReqCPUS,State"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"sacct failed: {proc.stderr}"
    rows = [line.split("|") for line in proc.stdout.splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=["jobid", "comment", "reqmem", "reqcpus", "state"])


@pytest.fixture(scope="module")
def runs(slurm_cluster, tmp_path_factory):
    node_mem = slurm_cluster.node_mem_mb
    train_mem = int(yaml.safe_load((PROFILE / "config.yaml").read_text())["set-resources"]
                    ["crossuser_train"]["mem_mb"].split("*")[0])
    if node_mem < train_mem + 2000:
        pytest.skip(f"the test node has {node_mem} MB; the profile's training jobs ask {train_mem} MB")
    on_slurm = make_workdir(tmp_path_factory.mktemp("on_slurm"))
    local = make_workdir(tmp_path_factory.mktemp("local"))
    failing = tmp_path_factory.mktemp("failing")
    (failing / "Snakefile").write_text(FAILING_SNAKEFILE)
    # per-submission caps (profile `resources`, scope local) sized to the test node's 2 cores
    caps = ["--resources", f"mem_mb={min(8000, node_mem // 2)}", "cpus_per_task=2"]
    started = time.monotonic()
    runs = {
        "slurm": Run("slurm", on_slurm, [TARGET, *SLURM_ARGS, *caps, *CONFIG]),
        "failing": Run("failing", failing, SLURM_ARGS),
        "local": Run("local", local, [TARGET, "--cores", "2", *CONFIG]),
    }
    deadline = started + RUN_TIMEOUT
    for run in runs.values():
        run.wait(deadline)
    runs["seconds"] = time.monotonic() - started
    runs["sacct"] = _sacct()
    return runs


def _explain(run: Run, cluster: Cluster) -> str:
    return (f"\n==== snakemake ({run.name}, rc={run.returncode}) ====\n{run.output()}\n"
            f"==== SLURM logs ====\n{cluster.log_tail()}")


@pytest.mark.slow
def test_slurm_run_matches_the_local_run(runs, slurm_cluster):
    slurm, local = runs["slurm"], runs["local"]
    assert local.returncode == 0, f"local run failed:\n{local.output()}"
    assert slurm.returncode == 0, "SLURM run failed" + _explain(slurm, slurm_cluster)
    on_slurm = pd.read_csv(slurm.workdir / TARGET)
    here = pd.read_csv(local.workdir / TARGET)
    assert len(on_slurm) > 0 and set(on_slurm["model"]) == {"LDA", "MHCNN"}, on_slurm
    pd.testing.assert_frame_equal(on_slurm, here, check_exact=True)
    assert (slurm.workdir / TARGET).read_bytes() == (local.workdir / TARGET).read_bytes(), \
        "score tables differ byte-wise"
    assert "has been submitted with SLURM jobid" in slurm.output(10**7), slurm.output()


@pytest.mark.slow
def test_slurm_jobs_follow_the_profile(runs, slurm_cluster):
    jobs = runs["sacct"]
    ours = jobs[~jobs["comment"].str.contains("always_fails")]
    assert (ours["state"] == "COMPLETED").all(), ours.to_string() + _explain(runs["slurm"], slurm_cluster)
    comments = ours["comment"].tolist()
    # the 6 conversions of the tiny SLURM config share one submission (group "convert")
    assert comments.count("rule_convert_convert_recording") == 1, comments
    assert not any(c.startswith("rule_convert_recording") for c in comments), comments
    assert comments.count("rule_features_crossuser_features") == 1, comments
    # training jobs get the profile's memory (set-resources) and the rule's threads as CPUs
    train = ours[ours["comment"].str.startswith("rule_crossuser_train")]
    assert len(train) == 3, ours.to_string()  # LDA, and MHCNN once per loss of tiny.yaml's sweep (ce, grl)
    assert set(train["reqmem"]) == {"8000M"}, train.to_string()
    assert set(train["reqcpus"]) == {"1"}, train.to_string()  # testconfig/slurm.yaml: train_threads 1


@pytest.mark.slow
def test_failing_job_is_reported_and_retried(runs, slurm_cluster):
    failing = runs["failing"]
    out = failing.output(10**7)
    assert failing.returncode not in (0, -999), "failing run did not fail in time" + _explain(failing, slurm_cluster)
    assert "Error in rule always_fails" in out and "SLURM status is: 'FAILED'" in out, failing.output()
    jobs = runs["sacct"]
    attempts = jobs[jobs["comment"] == "rule_always_fails"].sort_values("jobid", key=lambda s: s.astype(int))
    retries = yaml.safe_load((PROFILE / "config.yaml").read_text())["retries"]
    assert len(attempts) == 1 + retries, attempts.to_string()
    assert (attempts["state"] == "FAILED").all(), attempts.to_string()
    assert attempts["reqmem"].tolist() == [f"{100 * a}M" for a in range(1, retries + 2)], attempts.to_string()
    assert out.count("Trying to restart job") == retries, failing.output()
    # the profile keeps failed jobs' SLURM logs under logs/slurm/<rule>/<jobid>.log
    logs = sorted((failing.workdir / "logs" / "slurm" / "rule_always_fails").glob("*.log"))
    assert {p.stem for p in logs} == set(attempts["jobid"]), logs
    assert all("myoflow-attempt-failing" in p.read_text(errors="replace") for p in logs), logs


# ---- the profiles themselves (no cluster needed) ---------------------------------------------

def _profile(path: Path) -> dict:
    return yaml.safe_load((path / "config.yaml").read_text())


def test_gpu_profile_is_the_slurm_profile_plus_gpus():
    cpu, gpu = _profile(PROFILE), _profile(GPU_PROFILE)
    assert cpu["executor"] == gpu["executor"] == "slurm"
    for rule in TRAIN_RULES:
        extra = gpu["set-resources"][rule]
        assert extra.pop("gpu") == 1, rule
        assert "MYOFLOW_SLURM_GPU_PARTITION" in extra.pop("slurm_partition"), rule
    assert gpu == cpu, "profiles/slurm-gpu differs from profiles/slurm beyond the GPU entries"
    assert not any("gpu" in str(v) or "gres" in str(v) for v in cpu["set-resources"].values())


def test_slurm_profile_settings():
    cpu = _profile(PROFILE)
    assert cpu["retries"] >= 1 and cpu["jobs"] >= 1 and cpu["latency-wait"] >= 5
    assert {"slurm_partition", "mem_mb", "runtime", "cpus_per_task"} <= set(cpu["default-resources"])
    assert cpu["groups"].items() >= {"convert_recording": "convert", "crossuser_features": "features"}.items()
    # one disentanglement classification job classifies every fold of a measure: long, not bundled
    assert "disentangle_classify" not in cpu["groups"] and cpu["set-resources"]["disentangle_classify"]["runtime"] >= 240
    assert cpu["set-threads"]["disentangle_train"] >= 2
    assert set(cpu["group-components"]) == set(cpu["groups"].values())
    for rule in TRAIN_RULES:
        assert "attempt" in str(cpu["set-resources"][rule]["mem_mb"]), rule


def test_every_rule_declares_threads_and_attempt_scaled_resources():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for name, body in re.findall(r"(?ms)^rule (\w+):\n(.*?)(?=^rule |\Z)", smk.read_text()):
            assert re.search(r"^    threads: ", body, re.M), f"{smk.name}: rule {name} has no threads"
            assert re.search(r"mem_mb=lambda wc, attempt: .+ \* attempt", body), \
                f"{smk.name}: rule {name} has no attempt-scaled mem_mb"
            assert re.search(r"^        runtime=", body, re.M), f"{smk.name}: rule {name} has no runtime"
