"""Wall time of one paper-size disentanglement fold on this machine (the SLURM sizing).

Trains the published model (encoders 512-256-128, decoder 128-64, batch 512, lr 2e-3) for a few
epochs on random maps of the paper's fold size (19 training subjects x 10 gestures x trials x
segments) for a measure's F values per electrode, times the epochs after the first (warm-up), and
extrapolates to the published 400 epochs. Nothing is learnt from random data: this measures cost.

    .venv/bin/python bench/bench_disentangle_fold.py                       # RMS (F = 8), 3 epochs
    .venv/bin/python bench/bench_disentangle_fold.py --features 129 --threads 4
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from myoflow.deploy import cpu_name
from myoflow.disentangle import train_disentangle


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", type=int, default=8, help="values per electrode (RMS over 64-sample frames: 8)")
    ap.add_argument("--subjects", type=int, default=19, help="training subjects of one LOSO fold")
    ap.add_argument("--samples-per-subject", type=int, default=60, help="10 gestures x 2 trials x 3 segments")
    ap.add_argument("--epochs", type=int, default=3, help="epochs timed (the first is warm-up)")
    ap.add_argument("--paper-epochs", type=int, default=400)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    n = args.subjects * args.samples_per_subject
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, args.features, 16, 16)).astype(np.float32)
    gesture = np.tile(np.arange(10), n // 10 + 1)[:n]
    subject = np.repeat(np.arange(args.subjects), args.samples_per_subject)
    params = {"epochs": args.epochs, "batch_size": 512, "lr": 2e-3, "encoder_channels": [512, 256, 128],
              "decoder_channels": [128, 64], "threads": args.threads, "device": "cpu"}
    t0 = time.perf_counter()
    _, history = train_disentangle(X, gesture, subject, params)
    total = time.perf_counter() - t0
    per_epoch = float(np.mean([h["seconds"] for h in history[1:]])) if len(history) > 1 else history[0]["seconds"]
    print(f"CPU: {cpu_name()} ({platform.python_implementation()} {platform.python_version()}), "
          f"{args.threads} thread(s)")
    print(f"fold: {n} training maps of ({args.features}, 16, 16); {args.epochs} epochs in {total:.1f} s")
    print(f"seconds per epoch (after warm-up): {per_epoch:.2f}")
    print(f"extrapolated {args.paper_epochs} epochs: {per_epoch * args.paper_epochs / 60:.1f} min "
          f"({per_epoch * args.paper_epochs / 3600:.2f} h)")


if __name__ == "__main__":
    main()
