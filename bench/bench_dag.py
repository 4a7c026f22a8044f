#!/usr/bin/env python3
"""How fast Snakemake builds myoflow's DAG at paper size, against the engine's own floor.

Usage: python bench/bench_dag.py [--repeats 3] [--configs config/paper/*.yaml] [--profile]

In a scratch copy of the workflow (results never land in the checkout), with the three paper
configs together (synthetic listings of the published sizes: no data is read):

1. the dry run of every study (``snakemake --dry-run``), timed;
2. every output faked (empty files and folders for the outputs ``snakemake --summary`` lists,
   then ``snakemake --touch`` to order their times), then the no-op rerun (``snakemake``, which
   has nothing to do), timed;

and the same two for the floor: a trivial three-rule workflow (one input-less rule, one rule with
one input, an aggregating rule) with the same number of jobs, generated and timed in the same run.
Reports jobs, seconds (median of ``--repeats``) and the ratios. Goal: each ratio <= 1.25.
``--profile`` adds a cProfile of one myoflow dry run (top functions by cumulative time).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
GOAL = 1.25


def run(workdir: Path, *args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=workdir, capture_output=True, text=True,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed in {workdir}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout + proc.stderr


def job_count(output: str) -> int:
    m = re.search(r"^total\s+(\d+)", output, flags=re.M)
    if not m:
        raise SystemExit(f"no job count in the dry run's output:\n{output[-2000:]}")
    return int(m.group(1))


def myoflow_workdir(tmp: Path, configs: list[str]) -> tuple[Path, list[str]]:
    work = tmp / "myoflow"
    work.mkdir()
    for name in ("Snakefile", "workflow", "scripts", "envs", "profiles"):
        os.symlink(REPO / name, work / name)
    shutil.copytree(REPO / "config", work / "config")
    return work, ["--configfile", "config/config.yaml", *configs]


def floor_workdir(tmp: Path, n_jobs: int) -> Path:
    """A trivial workflow of ``n_jobs`` jobs: n a-jobs, n b-jobs (each reads one a), one c, one all."""
    work = tmp / "floor"
    work.mkdir()
    n = max((n_jobs - 2) // 2, 1)
    extra = n_jobs - 2 - 2 * n  # 0 or 1: one more a-job whose output only `all` reads
    (work / "Snakefile").write_text(f"""
N = {n}
EXTRA = {extra}

rule all:
    input: "c.txt", expand("a/{{i}}.txt", i=range(N, N + EXTRA))

rule a:
    output: "a/{{i}}.txt"
    shell: "touch {{output}}"

rule b:
    input: "a/{{i}}.txt"
    output: "b/{{i}}.txt"
    shell: "touch {{output}}"

rule c:
    input: expand("b/{{i}}.txt", i=range(N))
    output: "c.txt"
    shell: "touch {{output}}"
""")
    return work


def fake_outputs(workdir: Path, args: list[str]) -> int:
    """Create every output of the DAG as an empty file (or folder), then ``--touch`` them in order.

    ``--touch`` alone marks only existing files; the no-op rerun must find every output present.
    """
    _, out = run(workdir, *args, "--summary")
    n = 0
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 5 or parts[0] == "output_file":  # rows of the summary table only
            continue
        path = parts[0]
        target = workdir / path
        if target.exists():
            continue
        if target.suffix == "":  # directory outputs (synthetic and downloaded datasets)
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        n += 1
    run(workdir, *args, "--touch", "--quiet", "all")
    return n


def timed(workdir: Path, args: list[str], repeats: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(repeats):
        t, out = run(workdir, *args)
        times.append(t)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--configs", nargs="+", default=sorted(str(p.relative_to(REPO)) for p in (REPO / "config" / "paper").glob("*.yaml")))
    ap.add_argument("--profile", action="store_true", help="cProfile one myoflow dry run")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_dag_") as tmp_name:
        tmp = Path(tmp_name)
        work, cfg = myoflow_workdir(tmp, args.configs)
        dry, out = timed(work, [*cfg, "--dry-run", "--quiet", "rules"], args.repeats)
        n_jobs = job_count(out)
        fake_outputs(work, cfg)
        # a dry run first: the no-op check must never start real jobs on faked inputs
        _, check = run(work, *cfg, "--dry-run")
        if "nothing to be done" not in check.lower():
            raise SystemExit("faking the outputs left jobs to run:\n" + check[-2000:])
        noop, out = timed(work, [*cfg, "--quiet", "all"], args.repeats)

        floor = floor_workdir(tmp, n_jobs)
        floor_dry, fout = timed(floor, ["--dry-run", "--quiet", "rules"], args.repeats)
        floor_jobs = job_count(fout)
        fake_outputs(floor, [])
        floor_noop, _ = timed(floor, ["--quiet", "all"], args.repeats)

        print(f"configs: {' '.join(args.configs)} (median of {args.repeats})")
        print(f"{'':22}{'jobs':>8}{'dry run s':>12}{'no-op rerun s':>15}")
        print(f"{'myoflow (paper size)':22}{n_jobs:>8}{dry:>12.2f}{noop:>15.2f}")
        print(f"{'trivial 3-rule floor':22}{floor_jobs:>8}{floor_dry:>12.2f}{floor_noop:>15.2f}")
        r_dry, r_noop = dry / floor_dry, noop / floor_noop
        for what, ratio in (("dry run", r_dry), ("no-op rerun", r_noop)):
            verdict = "met" if ratio <= GOAL else "NOT met"
            print(f"{what}: {ratio:.2f}x the floor (goal <= {GOAL}x: {verdict})")
        if args.profile:
            prof = tmp / "dry.prof"
            subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "snakemake", "--cores", "2",
                            *cfg, "--dry-run", "--quiet", "rules"], cwd=work, capture_output=True, check=True)
            import pstats

            pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
