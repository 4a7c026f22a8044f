"""Run the workflow in a scratch copy of the repository (results never land in the checkout)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def make_workdir(tmp: Path) -> Path:
    """Symlink the workflow's code into ``tmp``; copy the config so a test may edit it."""
    for name in ("Snakefile", "workflow", "scripts", "envs"):
        os.symlink(REPO / name, tmp / name)
    shutil.copytree(REPO / "config", tmp / "config")
    shutil.copytree(REPO / "tests" / "config", tmp / "testconfig")
    return tmp


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [*SNAKEMAKE, "--cores", "2", *args], cwd=workdir, env=env, capture_output=True, text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-5000:]}\n{proc.stderr[-8000:]}")
    return proc
