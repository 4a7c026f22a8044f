"""The dataset registry: every module's metadata, auto-discovery, listing notes, synthetic params,
and the README's "Adding a dataset" example (run from the README itself, so it cannot rot)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import myoflow
from myoflow import datasets, synthetic
from myoflow.datasets import (
    COMMON_OPTIONS, DATASETS, dataset_names, get_dataset, has_synthetic, listing_problems,
    synthetic_params, synthetic_recordings, write_synthetic,
)
from myoflow.download import Source
from myoflow.errors import ConfigError
from myoflow.layouts import get_layout
from myoflow.registry import Registry

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(datasets.__file__).parent

#: small sizes per synthetic set, so every writer runs in well under a second
SMALL = {
    "epn612": {"n_training_users": 1, "n_testing_users": 1, "repetitions_per_gesture": 1,
               "repetition_s": 0.5},
    "hyser": {"n_subjects": 1, "gestures": [6, 30], "trials_per_gesture": 1,
              "segments_per_trial": 1, "segment_s": 0.1},
    "csl": {"n_subjects": 1, "n_sessions": 1, "n_gestures": 2, "trials_per_gesture": 1,
            "trial_s": 0.1},
    "icelab": {"n_subjects": 1, "n_gestures": 2, "repetitions": 1, "repetition_s": 0.1},
}


def _ids(value) -> bool:
    return value is None or (isinstance(value, tuple) and len(value) > 0
                             and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                             and len(set(value)) == len(value))


# ------------------------------------------------------------------------------- metadata

def test_registry_holds_every_public_module_of_the_package():
    files = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))
    assert dataset_names() == files == DATASETS.names()
    assert {"epn612", "hyser", "csl", "icelab", "myoarmband", "uci_myo36", "ciildata",
            "flexemg"} <= set(files)
    assert all(get_dataset(n) is importlib.import_module(f"myoflow.datasets.{n}") for n in files)


@pytest.mark.parametrize("name", dataset_names())
def test_every_module_has_sane_metadata(name):
    mod = get_dataset(name)
    assert mod.NAME == name
    assert isinstance(mod.FS, (int, float)) and not isinstance(mod.FS, bool) and mod.FS > 0
    assert isinstance(mod.N_CHANNELS, int) and mod.N_CHANNELS > 0
    assert isinstance(mod.GESTURES, (list, tuple)) and len(mod.GESTURES) > 0
    assert all(isinstance(g, str) and g for g in mod.GESTURES)
    assert len(set(mod.GESTURES)) == len(mod.GESTURES)
    assert mod.N_CLASSES == len(mod.GESTURES)
    layout = get_layout(mod.LAYOUT)
    assert layout.name == mod.LAYOUT
    assert layout.n_channels == mod.N_CHANNELS  # holds for every layout registered today
    assert _ids(mod.SUBJECTS) and _ids(mod.SESSIONS)
    assert isinstance(mod.OPTIONS, dict) and all(isinstance(v, str) for v in mod.OPTIONS.values())
    assert not set(mod.OPTIONS) & set(COMMON_OPTIONS)
    assert callable(mod.list_recordings) and callable(mod.read_recording)
    if hasattr(mod, "SOURCE"):
        assert isinstance(mod.SOURCE, Source) and mod.SOURCE.name == name
    if hasattr(mod, "REAL_ARCHIVE"):
        assert re.fullmatch(rf"{name}\.tar\.xz", mod.REAL_ARCHIVE)
    if has_synthetic(name):
        assert set(synthetic.PHYSICS_DEFAULTS) <= set(mod.SYNTHETIC_DEFAULTS)
        assert synthetic_params(name, {}) == synthetic_params(name, dict(mod.SYNTHETIC_DEFAULTS))


@pytest.mark.parametrize("name", [n for n in dataset_names() if has_synthetic(n)])
def test_metadata_agrees_with_what_the_reader_returns(name, tmp_path):
    mod = get_dataset(name)
    params = SMALL.get(name, {})
    write_synthetic(name, tmp_path / name, params, seed=1)
    listed = mod.list_recordings(tmp_path / name, {})
    assert listed == synthetic_recordings(name, params)
    rec = mod.read_recording(tmp_path / name, *listed[0], {})
    assert rec.fs == mod.FS and rec.n_channels == mod.N_CHANNELS and rec.layout.name == mod.LAYOUT
    assert set(rec.gesture_names) <= set(mod.GESTURES)  # a subset where only some gestures exist
    if mod.SUBJECTS is not None:
        assert {s for s, _ in listed} <= set(mod.SUBJECTS)
    if mod.SESSIONS is not None:
        assert {k for _, k in listed} <= set(mod.SESSIONS)


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown dataset 'ninapro'; known: .*epn612.*hyser"):
        get_dataset("ninapro")
    with pytest.raises(ConfigError, match="ninapro"):
        has_synthetic("ninapro")
    with pytest.raises(ConfigError, match="ninapro"):
        listing_problems("ninapro", [])


# ------------------------------------------------------------------------- auto-discovery

MINIMAL_MODULE = '''
NAME = "{name}"
FS = 100.0
N_CHANNELS = 8
GESTURES = ["rest", "fist"]
N_CLASSES = 2
LAYOUT = "myo_ring8"
SUBJECTS = (1, 2)
SESSIONS = None
OPTIONS = {{}}


def list_recordings(raw_dir, options):
    return [(1, 1)]


def read_recording(raw_dir, subject, session, options):
    raise NotImplementedError
'''


def test_a_module_dropped_into_the_package_is_registered(tmp_path):
    """Copy the library, add one file to its datasets/ package, import it in a fresh interpreter:
    the new dataset is registered and reachable through every lookup, with no other edit."""
    src = tmp_path / "src"
    shutil.copytree(Path(myoflow.__file__).parent, src / "myoflow",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (src / "myoflow" / "datasets" / "dropped.py").write_text(MINIMAL_MODULE.format(name="dropped"))
    (src / "myoflow" / "datasets" / "_helper.py").write_text("X = 1\n")  # helpers are skipped
    code = ("import myoflow, myoflow.datasets as d, myoflow.download as dl;"
            "assert myoflow.__file__.startswith(%r), myoflow.__file__;"
            "print(d.dataset_names()); print(d.get_dataset('dropped').FS);"
            "print(d.listing_problems('dropped', [(1, 1)])); print(d.has_synthetic('dropped'));"
            "print('dropped' in dl.sources())" % str(src))
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path, check=True).stdout.splitlines()
    assert eval(out[0]) == sorted(dataset_names() + ["dropped"])  # noqa: S307 - our own output
    assert out[1:] == ["100.0", "['dropped: 1 of the 2 documented subjects absent from the "
                       "listing: subject 2']", "False", "False"]


def test_discovery_checks_the_module_contract(tmp_path, monkeypatch):
    """Same code path as a file in the package: extend the package's search path."""
    monkeypatch.setattr(datasets, "__path__", [*datasets.__path__, str(tmp_path)])
    names = ("extra_ok", "extra_bad", "extra_misnamed", "_extra_helper")
    for name in names:
        monkeypatch.delitem(sys.modules, f"myoflow.datasets.{name}", raising=False)
    (tmp_path / "extra_ok.py").write_text(MINIMAL_MODULE.format(name="extra_ok"))
    (tmp_path / "_extra_helper.py").write_text("raise RuntimeError('helpers are never imported')\n")
    found = datasets.discover(Registry("dataset"))
    assert found.names() == sorted(dataset_names() + ["extra_ok"])
    assert found.get("extra_ok").SUBJECTS == (1, 2)

    (tmp_path / "extra_bad.py").write_text("NAME = 'extra_bad'\nFS = 1.0\n")
    with pytest.raises(ConfigError, match=r"extra_bad lacks .*N_CHANNELS.*read_recording"):
        datasets.discover(Registry("dataset"))
    (tmp_path / "extra_bad.py").unlink()
    (tmp_path / "extra_misnamed.py").write_text(MINIMAL_MODULE.format(name="other"))
    with pytest.raises(ConfigError, match="NAME = 'other'.*'extra_misnamed'"):
        datasets.discover(Registry("dataset"))
    for name in names:
        sys.modules.pop(f"myoflow.datasets.{name}", None)


# --------------------------------------------------------------------------- listing notes

def test_listing_problems_names_missing_documented_subjects_and_sessions():
    everyone = [(s, k) for s in range(1, 21) for k in (1, 2)]
    assert listing_problems("hyser", everyone) == []
    gone = [(s, k) for s, k in everyone if s not in (4, 5, 6, 17)]
    assert listing_problems("hyser", gone) == [
        "hyser: 4 of the 20 documented subjects absent from the listing: subject 4..6, 17"]
    day1 = [(s, 1) for s in range(1, 21)]
    assert listing_problems("hyser", day1) == [
        "hyser: 1 of the 2 documented sessions absent from the listing: session 2"]
    # a module that documents no subjects (ICE Lab) only checks its sessions
    assert get_dataset("icelab").SUBJECTS is None
    assert listing_problems("icelab", [(7, 1)]) == []
    assert listing_problems("icelab", [(7, 2)]) == [
        "icelab: 1 of the 1 documented sessions absent from the listing: session 1"]


# ------------------------------------------------------------------------ synthetic params

def test_unknown_synthetic_param_is_rejected_naming_it_and_the_known_ones():
    with pytest.raises(ConfigError, match=r"synthetic csl: unknown parameter\(s\) \['n_subjectz'\]; "
                                          r"known: \[.*'n_subjects'.*\]"):
        synthetic_params("csl", {"n_subjectz": 3})
    with pytest.raises(ConfigError, match="n_subjectz"):
        synthetic_recordings("csl", {"n_subjectz": 3})
    with pytest.raises(ConfigError, match="'n_sessions' must be an integer >= 1, got 0"):
        synthetic_params("csl", {"n_sessions": 0})
    with pytest.raises(ConfigError, match="no synthetic generator.*datasets with one: csl, epn612"):
        synthetic_params("flexemg", {})
    p = synthetic_params("csl", {"n_subjects": 3})
    assert p["n_subjects"] == 3 and p["n_sessions"] == get_dataset("csl").SYNTHETIC_DEFAULTS["n_sessions"]
    assert synthetic_recordings("csl", {"n_subjects": 3, "n_sessions": 1}) == [(1, 1), (2, 1), (3, 1)]


def test_write_synthetic_is_reproducible_through_the_registry(tmp_path):
    write_synthetic("hyser", tmp_path / "a", SMALL["hyser"], seed=4)
    write_synthetic("hyser", tmp_path / "b", dict(SMALL["hyser"]), seed=np.int64(4))
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
                         for f in files)


# ------------------------------------------------------------------- the README's example

def _readme_section_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block of README.md's "## Adding a dataset" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Adding a dataset\n", 1)
    assert len(section) == 2, "README.md lacks the section '## Adding a dataset'"
    body = re.split(r"\n## ", section[1], maxsplit=1)[0]
    return re.findall(r"^```(\w+)\n(.*?)^```$", body, flags=re.S | re.M)


@pytest.fixture
def readme_module(tmp_path, monkeypatch):
    """The README's example module, imported from the README's text and registered for the test."""
    blocks = _readme_section_blocks()
    module_code = next(code for lang, code in blocks if lang == "python")
    path = tmp_path / "readme_example" / "csvmyo.py"
    path.parent.mkdir()
    path.write_text(module_code)
    spec = importlib.util.spec_from_file_location("readme_example_csvmyo", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    datasets._check_module(mod, "csvmyo")  # what discovery checks
    monkeypatch.setitem(DATASETS._entries, "csvmyo", mod)
    return mod


def test_readme_example_module_reads_its_files(readme_module, tmp_path):
    mod = readme_module
    raw = tmp_path / "raw"
    raw.mkdir()
    header = ",".join(mod.COLUMNS)
    (raw / "s1_r1.csv").write_text(header + "\n" + "\n".join(
        ",".join([str(v)] * 8 + [str(label)]) for v, label in
        zip(range(-5, 5), [0, 0, 0, 2, 2, 2, 0, 0, 4, 4])) + "\n")
    (raw / "s3_r2.csv").write_text(header + "\n1,2,3,4,5,6,7,8,1\n")
    (raw / "notes.txt").write_text("not a recording\n")
    assert mod.list_recordings(raw, {}) == [(1, 1), (3, 2)]
    rec = mod.read_recording(raw, 1, 1, {})
    rec.validate()
    assert rec.emg.shape == (10, 8) and rec.emg[0, 0] == -5 and rec.raw_values().dtype == np.int8
    assert rec.trials["label"].tolist() == [0, 2, 0, 4]
    assert rec.trials["repetition"].tolist() == [0, 0, 1, 0]
    assert rec.trials["start"].tolist() == [0, 3, 6, 8] and rec.trials["stop"].tolist() == [3, 6, 8, 10]
    assert rec.fs == mod.FS and rec.layout.name == mod.LAYOUT
    assert mod.read_recording(raw, 1, 1, {"dataset": "mine", "fs": 100}).fs == 100
    with pytest.raises(ConfigError, match="bogus"):
        mod.read_recording(raw, 1, 1, {"bogus": 1})
    from myoflow.errors import DataFormatError
    with pytest.raises(DataFormatError, match="s2_r1.csv: file not found"):
        mod.read_recording(raw, 2, 1, {})
    (raw / "s3_r2.csv").write_text(header + "\n1,2,3,4,5,6,7,8,9\n")
    with pytest.raises(DataFormatError, match=r"s3_r2.csv: labels must be 0\.\.4"):
        mod.read_recording(raw, 3, 2, {})
    # and the registry's generic checks hold for it
    assert listing_problems("csvmyo", [(1, 1)]) == []
    assert not has_synthetic("csvmyo")


def test_readme_example_config_and_test_run(readme_module, tmp_path):
    blocks = _readme_section_blocks()
    langs = [lang for lang, _ in blocks]
    assert langs == ["python", "yaml", "python"], langs
    import yaml

    entry = yaml.safe_load(blocks[1][1])["datasets"]["csvmyo"]
    assert entry["reader"] == readme_module.NAME and "source" in entry
    namespace: dict = {}
    exec(compile(blocks[2][1], "README.md (test_csvmyo.py)", "exec"), namespace)  # noqa: S102
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert tests
    for i, test in enumerate(tests):
        (tmp_path / f"t{i}").mkdir()
        test(tmp_path / f"t{i}")


def test_epn612_published_training_users_are_the_training_json_users(tmp_path):
    mod = get_dataset("epn612")
    params = {**SMALL["epn612"], "n_training_users": 3, "n_testing_users": 2}
    write_synthetic("epn612", tmp_path / "epn", params, seed=2)
    assert mod.published_training_subjects(tmp_path / "epn", {}) == [0, 1, 2]
    assert mod.synthetic_training_subjects(synthetic_params("epn612", params)) == [0, 1, 2]
    assert mod.published_training_subjects(tmp_path / "epn", {"n_training_json_users": 5}) == list(range(5))
