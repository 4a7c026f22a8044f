"""Benchmark myoflow.features against LibEMG 2.0.3, and generate the LibEMG reference fixture.

    # myoflow only
    .venv/bin/python bench/bench_features.py
    # with LibEMG timed in a subprocess of the same run (a venv where `libemg==2.0.3` imports)
    .venv/bin/python bench/bench_features.py --libemg-python /tmp/libemg-venv/bin/python
    # compare every feature with LibEMG on fresh random / Myo-like windows (float64, no fixture),
    # at LibEMG's default fs (1000 Hz) and at every --check-fs (default: 200 Hz, the Myo's)
    .venv/bin/python bench/bench_features.py --libemg-python /tmp/libemg-venv/bin/python --check-only
    # the same on windows of real recordings (any reader's folder; 8-channel Myo sets or HD grids),
    # also at the recordings' own fs
    .venv/bin/python bench/bench_features.py --libemg-python /tmp/libemg-venv/bin/python --check-only \
        --check-real myoarmband:/path/to/MyoArmbandDataset --check-real flexemg:/path/to/flexemg
    # regenerate tests/data/libemg_reference.npz (LibEMG's default fs, and REFERENCE_FS)
    .venv/bin/python bench/bench_features.py --libemg-python /tmp/libemg-venv/bin/python \
        --make-reference tests/data/libemg_reference.npz
    # time at the Myo's 200 Hz (both sides get the same fs)
    .venv/bin/python bench/bench_features.py --libemg-python /tmp/libemg-venv/bin/python --fs 200
    # time on 20,000 windows of real recordings instead of random ones (at their own fs unless --fs)
    .venv/bin/python bench/bench_features.py --libemg-python /tmp/libemg-venv/bin/python \
        --time-real myoarmband:resources/real/myoarmband

The LibEMG venv: ``python3.11 -m venv /tmp/libemg-venv && /tmp/libemg-venv/bin/pip install
libemg==2.0.3`` (outside the repository; never into the project's venv).

LibEMG is never imported into this interpreter: the LibEMG side runs as ``python -c`` in the
other venv, loading ``libemg/feature_extractor.py`` by path (so LibEMG's GUI/streamer imports are
not needed). Windows are 8 channels x 40 samples (200 ms of Myo data), seeded. LibEMG is timed
on as many windows as take about --libemg-seconds (its slow features would take minutes on all
20,000): a rate in windows/s either way. LibEMG computes on one core; myoflow on --threads
(default: every CPU the process may use), and, when that is more than one, on one thread too:
the table shows both rates and ratios, the goals are checked on the --threads column.

The fixture holds, per set (``random``, ``myo``, ``degenerate``; seeded, 8 x 40), the windows
(``windows/<set>``), every feature at LibEMG's default fs (``<set>/<FEAT>``) and the features that
take fs (``FS_FEATURES``) at each of ``REFERENCE_FS`` (``fs<fs>/<set>/<FEAT>``), LibEMG's float64
values stored as float32.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from myoflow.features import FEATURES, FS, FS_FEATURES, LIBEMG_FEATURES, available_threads, extract_features

CHANNELS, SAMPLES = 8, 40

#: sampling rates besides LibEMG's default whose fs-dependent features the fixture holds
REFERENCE_FS = (200,)

#: speed goals, as ratios to LibEMG timed in the same run; every other feature: not slower (1x)
SPEED_GOALS = {"ALL": 50.0, **{name: 20.0 for name in ("LS", "AR", "MDF", "CC", "SAMPEN", "FUZZYEN", "WENT")}}

# Runs in the LibEMG venv. argv: mode, windows.npy, out path, fs (JSON: a number, or null for
# LibEMG's default), [seconds budget, repeats]. Each feature gets only its own <FEAT>_fs: LibEMG
# 2.0.3 picks a feature's parameters by substring ("WL_" is in "WWL_fs"), so one dictionary with
# every <FEAT>_fs would hand WWL_fs to getWLfeat, which raises.
LIBEMG_SIDE = r"""
import importlib.util, json, sys, time, warnings
from pathlib import Path
import numpy as np
warnings.simplefilter("ignore")
np.seterr(all="ignore")
spec = importlib.util.find_spec("libemg")
path = Path(spec.submodule_search_locations[0]) / "feature_extractor.py"
mspec = importlib.util.spec_from_file_location("libemg_feature_extractor", path)
mod = importlib.util.module_from_spec(mspec)
mspec.loader.exec_module(mod)
fe = mod.FeatureExtractor()
import importlib.metadata as md
version = md.version("libemg")
mode, src, out, fs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
feats = fe.get_feature_list()
FS_FEATURES = ("MDF", "MNF", "SM", "DFTR", "WENG", "WV", "WWL", "WENT")
def params(f):
    return {f + "_fs": fs} if fs is not None and f in FS_FEATURES else {}
if mode == "features":
    data = np.load(src)
    res = {"version": version, "feature_list": feats}
    for key in data.files:
        w = data[key].astype(np.float64)
        for f in feats:  # one feature a call: the whole set each time (COMP sums over the call)
            d = fe.extract_features([f], w, params(f))
            res[key + "/" + f] = np.asarray(d[f], dtype=np.float64)
        res[key + "/AR9"] = fe.getARfeat(w, AR_order=9)  # COMB's AR9 (LibEMG skips the name)
    np.savez(out, **{k: v for k, v in res.items() if not isinstance(v, (str, list))})
    Path(out + ".json").write_text(json.dumps({"version": version, "feature_list": feats}))
else:
    budget, repeats = float(sys.argv[5]), int(sys.argv[6])
    allw = np.load(src).astype(np.float64)
    rates = {}
    def rate(fn, n_max):
        n = 50
        fn(allw[:n])  # warm-up: numba JIT (librosa.lpc), imports
        t0 = time.perf_counter(); fn(allw[:n]); dt = time.perf_counter() - t0
        n = int(min(n_max, max(50, 50 * budget / max(dt, 1e-9))))
        best = float("inf")
        reps = repeats if dt * n / 50 < budget else 1
        for _ in range(reps):
            t0 = time.perf_counter(); fn(allw[:n]); best = min(best, time.perf_counter() - t0)
        return n / best, n
    for f in feats:
        rates[f] = rate(lambda w: fe.extract_features([f], w, params(f)), len(allw))
    def all_features(w):
        for f in feats:
            fe.extract_features([f], w, params(f))
    rates["ALL"] = rate(all_features if fs is not None else lambda w: fe.extract_features(feats, w), len(allw))
    Path(out).write_text(json.dumps({"version": version, "rates": rates}))
"""


def make_windows(n: int, seed: int, samples: int = SAMPLES) -> np.ndarray:
    """Random float windows (W, 8, 40): Gaussian noise at log-uniform amplitudes 1e-3..10, some
    coloured, some with a DC offset, so thresholds (WAMP 2e-3) and zero crossings both matter."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, CHANNELS, samples))
    coloured = rng.random(n) < 0.5
    w[coloured] = np.cumsum(w[coloured], axis=2) * 0.3 + w[coloured]
    amp = 10 ** rng.uniform(-3, 1, size=(n, CHANNELS, 1))
    offset = np.where(rng.random((n, 1, 1)) < 0.2, rng.standard_normal((n, CHANNELS, 1)), 0.0)
    return (w * amp + offset * amp).astype(np.float32)


def make_myo_windows(n: int, seed: int, samples: int = SAMPLES) -> np.ndarray:
    """int8 windows like the Myo armband's: quantised band-limited noise, bursts and rests."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n, CHANNELS, samples + 4))
    x = e[:, :, 4:] - 0.6 * e[:, :, 3:-1] + 0.3 * e[:, :, 2:-2]  # EMG-like, no DC
    amp = 10 ** rng.uniform(0, 1.9, size=(n, CHANNELS, 1))
    x = np.clip(np.round(x * amp), -128, 127)
    x[x.sum(axis=2).__abs__().sum(axis=1) == 0] += 1  # LibEMG's MDF fails on all-zero windows
    flat = np.all(x == x[:, :, :1], axis=2)
    x[flat, 0] += 1
    return x.astype(np.int8)


def make_degenerate_windows(n: int, seed: int, samples: int = SAMPLES) -> np.ndarray:
    """Windows where exact arithmetic cancels and only the order of operations decides the
    rounding: constant channels, zero-order-hold runs (UCI's repeated samples), steps, a DC
    offset with noise 1e-9 of it, ramps. None is all zero (LibEMG's MDF fails there)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, CHANNELS, samples))
    t = np.arange(samples)
    for i in range(n):
        kind = i % 5
        level = rng.choice([-1.0, 1.0]) * 10 ** rng.uniform(-4, 2, size=(CHANNELS, 1))
        if kind == 0:
            w = np.broadcast_to(level, (CHANNELS, samples))
        elif kind == 1:
            runs = np.round(rng.standard_normal((CHANNELS, -(-samples // 4))) * 20) + 0.5
            w = np.repeat(runs, 4, axis=1)[:, :samples] * 1e-5
        elif kind == 2:
            w = np.where(t < samples // 2, level, -2.5 * level)
        elif kind == 3:
            w = level * (1 + 1e-9 * rng.standard_normal((CHANNELS, samples)))
        else:
            w = level * (t - 3.5) / samples
        out[i] = w
    return out


def real_windows(spec: str, n: int, seed: int, samples: int) -> tuple[np.ndarray, float]:
    """n windows (n, channels, samples) drawn at random from the recordings of ``reader:folder``,
    in the recording's own values (int8 Myo levels, mV of an HD grid), float64, and the
    recordings' sampling rate in Hz."""
    from myoflow.datasets import get_dataset
    from myoflow.inputs.windowing import sliding_windows

    reader_name, _, folder = spec.partition(":")
    reader = get_dataset(reader_name)
    windows, rates = [], set()
    for i, (subject, session) in enumerate(reader.list_recordings(folder, {})):
        if i >= 4 and sum(len(w) for w in windows) >= n:  # at least 4 recordings, more until n windows
            break
        rec = reader.read_recording(folder, subject, session, {})
        windows.append(sliding_windows(rec.emg.astype(np.float64), samples, samples // 2))
        rates.add(float(rec.fs))
    if len(rates) != 1:
        raise SystemExit(f"{spec}: recordings at several sampling rates {sorted(rates)}")
    pool = np.concatenate(windows)
    pick = np.random.default_rng(seed).choice(len(pool), size=min(n, len(pool)), replace=False)
    return pool[np.sort(pick)], rates.pop()


def _fs_json(fs: float | None) -> str:
    """fs for the LibEMG side: LibEMG asserts a Python int or float, so whole rates go as ints."""
    if fs is None:
        return "null"
    return json.dumps(int(fs) if float(fs).is_integer() else float(fs))


def libemg_features(python: str, sets: dict[str, np.ndarray], fs: float | None = None) -> dict[str, np.ndarray]:
    """LibEMG's value of every feature of every set (computed in float64), by 'set/FEAT', with
    every fs-dependent feature given ``<FEAT>_fs = fs`` (None: LibEMG's default)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "w.npz"), os.path.join(tmp, "ref.npz")
        np.savez(src, **sets)
        subprocess.run([python, "-c", LIBEMG_SIDE, "features", src, out, _fs_json(fs)], check=True)
        meta = json.loads(Path(out + ".json").read_text())
        assert meta["version"] == "2.0.3", f"LibEMG {meta['version']}, not 2.0.3"
        assert meta["feature_list"] == LIBEMG_FEATURES, meta["feature_list"]
        with np.load(out) as ref:
            return {k: ref[k] for k in ref.files}


def compare(sets: dict[str, np.ndarray], ref: dict[str, np.ndarray], fs: float = FS, rtol=1e-6, atol=1e-9,
            names: list[str] | None = None) -> tuple[bool, dict[str, float]]:
    """Print myoflow (float64) against LibEMG's values per set and feature at fs; returns
    whether all agree and the largest relative error per feature over the sets."""
    ok, worst = True, {}
    for key, w in sets.items():
        for name in names or LIBEMG_FEATURES + ["AR9"]:
            mine, _ = _float64_features(w, name, fs)
            theirs = np.nan_to_num(ref[f"{key}/{name}"], nan=0.0, posinf=0.0, neginf=0.0)
            theirs = theirs.reshape(len(w), -1)
            if mine.shape != theirs.shape:
                print(f"BAD {key:10s} {name:10s} fs {fs:g}: shape {mine.shape}, LibEMG {theirs.shape}")
                ok, worst[name] = False, float("inf")
                continue
            err = np.abs(mine - theirs)
            tol = atol + rtol * np.abs(theirs)
            bad = int(np.sum(err > tol))
            rel = float(np.max(err / np.maximum(np.abs(theirs), 1e-300))) if err.size else 0.0
            abs_err = float(err.max()) if err.size else 0.0
            flag = "ok " if bad == 0 else "BAD"
            ok &= bad == 0
            worst[name] = max(worst.get(name, 0.0), rel)
            print(f"{flag} {key:10s} {name:10s} fs {fs:g}  cols {theirs.shape[1]:3d}  max|err| {abs_err:.2e}  "
                  f"max rel {rel:.2e}  mismatches {bad}")
    return ok, worst


def _float64_features(w, name, fs: float = FS):
    """One feature in float64 through the same code path as extract_features."""
    from myoflow import features as F

    w64 = np.ascontiguousarray(w, dtype=np.float64)
    with np.errstate(all="ignore"):
        comp = np.sum(np.diff(w64, n=2, axis=2) ** 2) / w64.shape[2]
        v = np.asarray(F.FEATURES[name].func(F._Batch(w64, comp_m4=comp, fs=float(fs))), dtype=np.float64)
        v = v.reshape(len(w64), -1)  # the wavelet features give a (windows, levels, channels) view
    return np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0), F.column_names(name, w.shape[1], fs)


def time_myoflow(windows: np.ndarray, repeats: int, threads: int, fs: float = FS) -> dict[str, float]:
    rates = {}
    jobs = [(n, [n]) for n in FEATURES] + [("ALL", LIBEMG_FEATURES)]
    for label, feats in jobs:
        extract_features(windows[:64], feats, threads, fs)  # warm-up (tap tables etc.)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            extract_features(windows, feats, threads, fs)
            best = min(best, time.perf_counter() - t0)
        rates[label] = len(windows) / best
    return rates


def print_summary(summary: dict[float, dict[str, float]]) -> None:
    """The largest relative error of every feature over the sets, one column per fs."""
    rates = list(summary)
    print("max relative error over the sets: " + ", ".join(f"fs {fs:g}" for fs in rates))
    for name in LIBEMG_FEATURES + ["AR9"]:
        print(f"  {name:10s}" + "".join(f"{summary[fs].get(name, float('nan')):>12.2e}" for fs in rates))


def make_reference(python: str, sets: dict[str, np.ndarray], path: Path) -> int:
    """Write the LibEMG fixture (module docstring): the windows, every feature at LibEMG's default
    fs, the fs-dependent ones at each of REFERENCE_FS; checks myoflow against it on the way."""
    ref = libemg_features(python, sets)
    ok, summary = compare(sets, ref)
    summary = {FS: summary}
    out = {f"windows/{k}": v for k, v in sets.items()}
    out.update({k: v.astype(np.float32) for k, v in ref.items()})
    for fs in REFERENCE_FS:
        ref_fs = libemg_features(python, sets, fs)
        good, summary[fs] = compare(sets, ref_fs, fs)
        ok &= good
        out.update({f"fs{fs:g}/{k}": v.astype(np.float32) for k, v in ref_fs.items()
                    if k.partition("/")[2] in FS_FEATURES})
    print_summary(summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)")
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-windows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=available_threads(),
                    help="threads of myoflow's extract_features (default: every CPU available); "
                         "with more than one, a one-thread column is timed too")
    ap.add_argument("--libemg-python", help="python of a venv with libemg==2.0.3 installed")
    ap.add_argument("--libemg-seconds", type=float, default=1.5, help="time budget per LibEMG timing")
    ap.add_argument("--make-reference", metavar="NPZ", help="write the LibEMG reference fixture and exit")
    ap.add_argument("--fresh-windows", action="store_true",
                    help="--make-reference: draw the windows anew instead of reusing those of the existing file")
    ap.add_argument("--check-only", action="store_true", help="compare with LibEMG and exit")
    ap.add_argument("--check-samples", type=int, default=SAMPLES, help="window length for --check-only")
    ap.add_argument("--check-windows", type=int, default=2000, help="windows per set for --check-only")
    ap.add_argument("--check-real", action="append", default=[], metavar="READER:FOLDER",
                    help="--check-only also on windows of these real recordings (repeatable), at the "
                         "default fs, every --check-fs and the recordings' own fs")
    ap.add_argument("--check-fs", type=float, action="append", default=None, metavar="HZ",
                    help="sampling rates --check-only checks besides LibEMG's default 1000 Hz "
                         f"(repeatable; default {', '.join(map(str, REFERENCE_FS))})")
    ap.add_argument("--fs", type=float, default=None,
                    help="sampling rate for the timing, given to both sides (default: LibEMG's 1000 Hz; "
                         "with --time-real, the recordings' own)")
    ap.add_argument("--time-real", metavar="READER:FOLDER",
                    help="time on --n-windows windows of these real recordings instead of random windows")
    args = ap.parse_args(argv)

    if args.make_reference or args.check_only:
        if not args.libemg_python:
            ap.error("--make-reference / --check-only need --libemg-python")
        if args.make_reference:
            path = Path(args.make_reference)
            sets = {"random": make_windows(120, seed=2003), "myo": make_myo_windows(100, seed=2004),
                    "degenerate": make_degenerate_windows(60, seed=2005)}
            if path.exists() and not args.fresh_windows:
                # numpy's pow/exp may round differently on another CPU, and a last-bit change
                # of a degenerate window changes its values: keep the committed windows
                with np.load(path) as old:
                    sets.update({k: old[f"windows/{k}"] for k in sets if f"windows/{k}" in old.files})
                print(f"windows taken from {path} (--fresh-windows to draw them anew)")
            return make_reference(args.libemg_python, sets, path)
        n, length = args.check_windows, args.check_samples
        sets = {"random": make_windows(n, seed=args.seed + 1, samples=length),
                "myo": make_myo_windows(n, seed=args.seed + 2, samples=length),
                "degenerate": make_degenerate_windows(n, seed=args.seed + 4, samples=length)}
        extra_fs = list(REFERENCE_FS) if args.check_fs is None else args.check_fs
        real_fs = {}
        for spec in args.check_real:
            key = spec.partition(":")[0]
            sets[key], real_fs[key] = real_windows(spec, n, args.seed + 3, length)
            print(f"{key}: {len(sets[key])} windows of {length} samples at {real_fs[key]:g} Hz")
        checks = [(None, dict(sets))] + [(fs, dict(sets)) for fs in extra_fs]
        for key, fs in real_fs.items():  # each real set at its own rate too
            if fs != FS and fs not in extra_fs:
                checks.append((fs, {key: sets[key]}))
        ok, summary = True, {}
        for fs, chosen in checks:
            ref = libemg_features(args.libemg_python, chosen, fs)
            good, worst = compare(chosen, ref, FS if fs is None else fs)
            ok &= good
            summary[FS if fs is None else fs] = worst
        print_summary(summary)
        return 0 if ok else 1

    if args.time_real:
        windows, real_fs = real_windows(args.time_real, args.n_windows, args.seed, SAMPLES)
        if args.fs is None:
            args.fs = real_fs
        where = f"real windows of {args.time_real}"
    else:
        windows, where = make_windows(args.n_windows, args.seed).astype(np.float64), "random windows"
    fs = FS if args.fs is None else args.fs
    print(f"{len(windows)} {where} of {windows.shape[1]} x {windows.shape[2]} at fs {fs:g} Hz, float64 in "
          f"(LibEMG gets float64 too); best of {args.repeats}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    mine = time_myoflow(windows, args.repeats, args.threads, fs)
    single = time_myoflow(windows, args.repeats, 1, fs) if args.threads > 1 else mine
    theirs = {}
    if args.libemg_python:
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, "w.npy"), os.path.join(tmp, "t.json")
            np.save(src, windows)
            subprocess.run([args.libemg_python, "-c", LIBEMG_SIDE, "time", src, out, _fs_json(args.fs),
                            str(args.libemg_seconds), str(args.repeats)], check=True)
            theirs = json.loads(Path(out).read_text())["rates"]
    # LibEMG (numpy, pywt, librosa) computes on one thread; myoflow with --threads, and on one
    print(f"myoflow on {args.threads} thread(s); the goal is checked on that column, the "
          f"1-thread column shows myoflow on one core like LibEMG")
    print(f"{'feature':<12}{'myoflow w/s':>14}{'1 thread':>12}{'LibEMG w/s':>14}{'(n LibEMG)':>12}"
          f"{'ratio':>9}{'1 thr':>8}{'goal':>7}  met")
    missed = []
    for label in list(FEATURES) + ["ALL"]:
        shown = "all 50" if label == "ALL" else label
        if label in theirs:
            rate, n = theirs[label]
            ratio, goal = mine[label] / rate, SPEED_GOALS.get(label, 1.0)
            met = "yes" if ratio >= goal else "NO"
            if ratio < goal:
                missed.append(shown)
            print(f"{shown:<12}{mine[label]:>14,.0f}{single[label]:>12,.0f}{rate:>14,.0f}{n:>12}"
                  f"{ratio:>8.1f}x{single[label] / rate:>7.1f}x{goal:>6.0f}x  {met}")
        else:
            print(f"{shown:<12}{mine[label]:>14,.0f}{single[label]:>12,.0f}{'-':>14}")
    if theirs:
        print(f"goals missed: {', '.join(missed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
