"""Conversion throughput and memory: a synthetic EMG-EPN-612-sized set through the epn612 reader.

Generates the synthetic set in its native JSON format (612 users by default, as the real set),
converts it user by user into the recording store, and reports MB/s of raw input and the peak
resident memory after 10 %, 50 % and 100 % of the users: conversion streams per subject, so the
peak must not grow with the number of users.

    .venv/bin/python bench/bench_conversion.py                 # 306 + 306 users, 25 reps (real size)
    .venv/bin/python bench/bench_conversion.py --users 60 --reps 5   # a quick look
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import tempfile
import time
from pathlib import Path

from myoflow.datasets import get_dataset, synthetic_params, write_synthetic
from myoflow.store import write_recording


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=612, help="total users (half trainingJSON, half testingJSON)")
    ap.add_argument("--reps", type=int, default=25, help="repetitions per gesture and sample set")
    ap.add_argument("--repetition-s", type=float, default=2.0)
    ap.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="myoflow-bench-"))
    raw, store = work / "raw", work / "store"
    params = synthetic_params("epn612", {"n_training_users": args.users // 2,
                                         "n_testing_users": args.users - args.users // 2,
                                         "repetitions_per_gesture": args.reps, "repetition_s": args.repetition_s})
    t0 = time.perf_counter()
    # generate in a child process so its memory does not count in the conversion's peak RSS
    gen = multiprocessing.get_context("spawn").Process(
        target=write_synthetic, args=("epn612", raw, params, 13))
    gen.start()
    gen.join()
    if gen.exitcode != 0:
        raise SystemExit(f"generation failed (exit code {gen.exitcode})")
    t_gen = time.perf_counter() - t0
    raw_mb = sum(p.stat().st_size for p in raw.rglob("*.json")) / 1e6
    print(f"generated {args.users} users, {raw_mb:.0f} MB of JSON in {t_gen:.1f} s")

    reader = get_dataset("epn612")
    recordings = reader.list_recordings(raw, {})
    checkpoints = {max(1, round(f * len(recordings))): f for f in (0.1, 0.5, 1.0)}
    rss_start = peak_rss_mb()
    t0 = time.perf_counter()
    for i, (subject, session) in enumerate(recordings, start=1):
        rec = reader.read_recording(raw, subject, session, {})
        write_recording(store / f"sub-{subject:03d}_ses-{session}.h5", rec)
        del rec
        if i in checkpoints:
            print(f"  {checkpoints[i]:>4.0%} of users converted: peak RSS {peak_rss_mb():.0f} MB")
    t_conv = time.perf_counter() - t0
    store_mb = sum(p.stat().st_size for p in store.glob("*.h5")) / 1e6
    print(f"converted {len(recordings)} users in {t_conv:.1f} s: {raw_mb / t_conv:.1f} MB/s of JSON, "
          f"{len(recordings) / t_conv:.1f} users/s; store {store_mb:.0f} MB")
    print(f"peak RSS {peak_rss_mb():.0f} MB (before conversion {rss_start:.0f} MB)")
    if args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
