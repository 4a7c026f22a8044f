#!/usr/bin/env python3
"""Extract the real offline recordings into resources/real/ (git-ignored) for config/real/*.yaml.

Usage: python scripts/extract_real_data.py [--data DIR] [--dest DIR] [NAME ...]

The sets are the dataset modules of :mod:`myoflow.datasets` that name an offline copy in
``REAL_ARCHIVE`` (e.g. ``"myoarmband.tar.xz"``). Looks for that archive in ``--data`` (default:
``$MYOFLOW_SHARED_DATA`` or the repository's ``../shared/data``) and extracts its ``<NAME>/``
folder into ``--dest`` (default ``resources/real``), giving ``resources/real/<NAME>/``. NAMES
default to every such set; an archive already extracted is skipped, a missing one is reported and
skipped. Not a workflow rule script: run it by hand (or ``make real-data``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tarfile
from pathlib import Path

from myoflow.datasets import DATASETS

REPO = Path(__file__).resolve().parents[1]


def real_archives() -> dict[str, str]:
    """Dataset name -> file name of its offline archive, for every module with ``REAL_ARCHIVE``."""
    return {name: mod.REAL_ARCHIVE for name, mod in DATASETS.items()
            if getattr(mod, "REAL_ARCHIVE", None)}


def default_data_dir() -> Path:
    env = os.environ.get("MYOFLOW_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def extract(archive: Path, name: str, dest: Path) -> Path:
    """Extract ``archive`` (holding ``name/``) into ``dest``; returns ``dest / name``."""
    target = dest / name
    if target.is_dir():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".{name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with tarfile.open(archive, "r:xz") as tar:
        tar.extractall(tmp, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    if not (tmp / name).is_dir():
        shutil.rmtree(tmp)
        raise SystemExit(f"{archive}: does not hold the folder {name}/")
    (tmp / name).rename(target)
    shutil.rmtree(tmp)
    return target


def main(argv: list[str] | None = None) -> int:
    archives = real_archives()
    names = sorted(archives)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", default=names,
                    help=f"sets to extract (default: all of {', '.join(names)})")
    ap.add_argument("--data", type=Path, default=default_data_dir(), help="folder with the archives")
    ap.add_argument("--dest", type=Path, default=REPO / "resources" / "real")
    args = ap.parse_args(argv)
    missing = 0
    for name in args.names:
        if name not in archives:
            ap.error(f"unknown set {name!r}; known: {', '.join(names)}")
        archive = args.data / archives[name]
        if not archive.is_file():
            print(f"skip {name}: {archive} not found", file=sys.stderr)
            missing += 1
            continue
        print(f"{name}: {extract(archive, name, args.dest)}")
    return 1 if missing == len(args.names) else 0


if __name__ == "__main__":
    sys.exit(main())
