"""Dataset downloads (myoflow.download) and the download_dataset checkpoint, with no network.

A temporary folder stands in for the original servers: the mirror, reached through file:// URLs
(and once through a local HTTP server), laid out like codeload.github.com, archive.ics.uci.edu,
physionet.org and zenodo.org. The committed manifests are checked for format everywhere and
against the real published copies where ``../shared/data`` (or ``$MYOFLOW_SHARED_DATA``) has them.
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import re
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from myoflow import download
from myoflow.datasets import dataset_names, get_dataset
from myoflow.download import (
    ArchiveSource, ManualSource, PhysioNetSource, ZenodoSource, download_dataset, get_source,
    verify_dataset,
)
from myoflow.errors import ChecksumError, ConfigError, DataFormatError, DownloadError
from workflow_helpers import make_workdir, snakemake

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = REPO / "workflow" / "resources" / "checksums"
SHA256_LINE = re.compile(r"^[0-9a-f]{64}  (\S.*)$")
#: name -> Source of every dataset module with a SOURCE (the registry decides, not this file)
SOURCES = download.sources()
DOWNLOADABLE = download.downloadable()
MANUAL = sorted(n for n, s in SOURCES.items() if isinstance(s, ManualSource))
ARCHIVE_SOURCES = sorted(n for n, s in SOURCES.items() if isinstance(s, ArchiveSource))

#: a few tiny files of each kind, paths relative to the dataset folder
MYO_FILES = {
    "PreTrainingDataset/Female0/training0/classe_0.dat": b"\x01\x00" * 8,
    "PreTrainingDataset/Female0/training0/classe_1.dat": b"\x02\x00" * 8,
    "EvaluationDataset/Male3/Test0/classe_0.dat": b"\xff\xff" * 8,
    "EvaluationDataset/Male3/experiment.csv": b"a,b\n1,2\n",
}
UCI_FILES = {
    "01/1_raw_data_13-12_22.03.16.txt": b"time\tchannel1\tclass\n1\t1e-05\t0\n",
    "36/2_raw_data_10-20_07.04.16.txt": b"time\tchannel1\tclass\n1\t-1e-05\t1\n",
}
HYSER_FILES = {
    "subject01_session1/dynamic_raw_sample1.hea": b"dynamic_raw_sample1 256 2048 4096\n",
    "subject01_session1/dynamic_raw_sample1.dat": bytes(range(64)),
    "subject01_session1/label_dynamic.txt": b"1,2,3\n",
}
EPN_FILES = {
    "trainingJSON/user1/user1.json": b'{"trainingSamples": {}}',
    "testingJSON/user1/user1.json": b'{"testingSamples": {}}',
}


@pytest.fixture(autouse=True)
def no_mirror_from_the_environment(monkeypatch):
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256sums(files: dict[str, bytes]) -> str:
    return "".join(f"{sha256(data)}  {path}\n" for path, data in sorted(files.items()))


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def serve_archive(mirror: Path, source: ArchiveSource, files: dict[str, bytes],
                  extra: dict[str, bytes] | None = None) -> None:
    """The source's archive (GitHub tar.gz or UCI zip) under its path in the mirror, holding
    ``files`` (and ``extra``, e.g. code) in ``archive_root/``."""
    members = {f"{source.archive_root}/{rel}": data for rel, data in {**files, **(extra or {})}.items()}
    target = mirror / source.archive_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(zip_bytes(members) if source.archive_path.endswith(".zip") else tar_gz(members))


def serve_physionet(mirror: Path, files: dict[str, bytes], sums: str | None = None,
                    source: PhysioNetSource | None = None) -> None:
    """A PhysioNet project (default: Hyser's): the source's subfolder plus another sub-dataset,
    and SHA256SUMS.txt of both."""
    source = source or SOURCES["hyser"]
    project = mirror / "files" / source.project / source.version
    published = {f"{source.subfolder}/{rel}": data for rel, data in files.items()}
    published["mvc_dataset/subject01_session1/mvc.dat"] = b"not wanted"
    write_tree(project, published)
    (project / "SHA256SUMS.txt").write_text(sums if sums is not None else sha256sums(published))


def serve_zenodo(mirror: Path, files: dict[str, bytes], corrupt: bool = False,
                 source: ZenodoSource | None = None) -> None:
    """A Zenodo record (default: EMG-EPN-612's): its API JSON and one zip holding ``files`` in a
    top folder."""
    source = source or SOURCES["epn612"]
    archive = zip_bytes({f"EMG dataset/{rel}": data for rel, data in files.items()})
    record = {"id": int(source.record), "files": [
        {"key": "EMG dataset.zip", "size": len(archive),
         "checksum": "md5:" + hashlib.md5(archive).hexdigest(), "links": {}},
    ]}
    (mirror / "api" / "records").mkdir(parents=True)
    (mirror / "api" / "records" / source.record).write_text(json.dumps(record))
    files_dir = mirror / "records" / source.record / "files"
    files_dir.mkdir(parents=True)
    (files_dir / "EMG dataset.zip").write_bytes(archive + (b"x" if corrupt else b""))


@pytest.fixture
def remote(tmp_path):
    """(mirror folder, destination parent, manifest folder) in a fresh temporary folder."""
    mirror, manifests = tmp_path / "mirror", tmp_path / "manifests"
    dest_parent = tmp_path / "resources" / "raw"
    for d in (mirror, dest_parent, manifests):
        d.mkdir(parents=True)
    return mirror, dest_parent, manifests


def serve(name: str, mirror: Path, manifests: Path, corrupt: str | None = None) -> dict[str, bytes]:
    """Publish a tiny copy of dataset ``name`` in the mirror (manifest for archive sources); with
    ``corrupt`` (a path), that file is served with other bytes than its checksum says."""
    source = SOURCES[name]
    # the download machinery does not look inside the files: any small tree of the right kind
    if isinstance(source, ArchiveSource):
        files = {"uci_myo36": UCI_FILES}.get(name, MYO_FILES)
    else:
        files = HYSER_FILES if isinstance(source, PhysioNetSource) else EPN_FILES
    served = {**files, corrupt: b"corrupted"} if corrupt else files
    if isinstance(source, ArchiveSource):
        (manifests / f"{name}.sha256").write_text(sha256sums(files))
        serve_archive(mirror, source, served, extra={"README.md": b"# upstream readme\n"})
    elif isinstance(source, PhysioNetSource):
        sums = sha256sums({f"{source.subfolder}/{rel}": data for rel, data in files.items()})
        serve_physionet(mirror, served, sums=sums, source=source)
    elif isinstance(source, ZenodoSource):
        serve_zenodo(mirror, files, corrupt=corrupt is not None, source=source)
    else:
        raise AssertionError(f"{name}: no tiny mirror for a {type(source).__name__} in this test")
    return files


def fetch(name: str, mirror: Path, dest_parent: Path, manifests: Path, **kw) -> Path:
    manifest = manifests / f"{name}.sha256"
    return download_dataset(name, dest_parent / name, mirror=mirror.as_uri(),
                            manifest=manifest if manifest.exists() else None, **kw)


def leftovers(dest_parent: Path) -> list[str]:
    return sorted(p.name for p in dest_parent.iterdir())


# ---- success ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DOWNLOADABLE)
def test_download_gives_exactly_the_published_files(remote, name):
    mirror, dest_parent, manifests = remote
    files = serve(name, mirror, manifests)
    dest = fetch(name, mirror, dest_parent, manifests)
    assert dest == dest_parent / name
    got = read_tree(dest)
    if isinstance(SOURCES[name], ArchiveSource):
        # the whole published folder is kept; files the manifest does not list are not checked
        assert got == {**files, "README.md": b"# upstream readme\n"}
    else:
        assert got == files  # hyser: only pr_dataset/, not the other sub-datasets
    assert leftovers(dest_parent) == [name]  # no staging folder, no archive left behind


def test_mirror_from_the_environment_and_from_a_plain_folder(remote, monkeypatch):
    mirror, dest_parent, manifests = remote
    files = serve("myoarmband", mirror, manifests)
    monkeypatch.setenv(download.MIRROR_ENV, str(mirror))  # a folder, not a URL
    dest = download_dataset("myoarmband", dest_parent / "m", manifest=manifests / "myoarmband.sha256")
    assert {k: v for k, v in read_tree(dest).items() if k in files} == files


def test_download_over_http_and_http_errors(remote):
    """The same download through a local HTTP server; a missing file is an HTTP 404 named as such."""
    mirror, dest_parent, manifests = remote
    files = serve("uci_myo36", mirror, manifests)
    handler = functools.partial(QuietHandler, directory=str(mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        dest = download_dataset("uci_myo36", dest_parent / "uci", mirror=base,
                                manifest=manifests / "uci_myo36.sha256")
        assert read_tree(dest) == {**files, "README.md": b"# upstream readme\n"}
        with pytest.raises(DownloadError, match=r"HTTP 404"):
            download_dataset("myoarmband", dest_parent / "myo", mirror=base)
    finally:
        server.shutdown()
        server.server_close()
    assert leftovers(dest_parent) == ["uci"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_existing_destination_is_not_touched(remote):
    mirror, dest_parent, manifests = remote
    serve("myoarmband", mirror, manifests)
    (dest_parent / "myoarmband").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        fetch("myoarmband", mirror, dest_parent, manifests)


# ---- checksum mismatches -----------------------------------------------------------------------
@pytest.mark.parametrize("name, corrupt", [
    ("myoarmband", "PreTrainingDataset/Female0/training0/classe_1.dat"),
    ("uci_myo36", "36/2_raw_data_10-20_07.04.16.txt"),
    ("hyser", "subject01_session1/label_dynamic.txt"),
    ("epn612", "EMG dataset.zip"),
])
def test_corrupted_file_is_named_with_both_hashes_and_nothing_is_left(remote, name, corrupt):
    mirror, dest_parent, manifests = remote
    files = serve(name, mirror, manifests, corrupt=corrupt)
    if name == "epn612":  # Zenodo: the archive's MD5, as the record API lists it
        record = json.loads((mirror / "api" / "records" / SOURCES[name].record).read_text())
        expected_hash = record["files"][0]["checksum"].split(":")[1]
        served = mirror / "records" / SOURCES[name].record / "files" / corrupt
        actual_hash = hashlib.md5(served.read_bytes()).hexdigest()
    else:
        expected_hash, actual_hash = sha256(files[corrupt]), sha256(b"corrupted")
    with pytest.raises(ChecksumError) as err:
        fetch(name, mirror, dest_parent, manifests)
    msg = str(err.value)
    assert corrupt in msg and expected_hash in msg and actual_hash in msg, msg
    assert f"Nothing was written to {dest_parent / name}" in msg
    assert leftovers(dest_parent) == []


def test_file_missing_from_the_archive_is_named(remote):
    mirror, dest_parent, manifests = remote
    files = serve("myoarmband", mirror, manifests)
    gone = "EvaluationDataset/Male3/experiment.csv"
    serve_archive(mirror, SOURCES["myoarmband"], {k: v for k, v in files.items() if k != gone})
    with pytest.raises(ChecksumError, match=rf"{re.escape(gone)}: missing"):
        fetch("myoarmband", mirror, dest_parent, manifests)
    assert leftovers(dest_parent) == []


# ---- offline, unreachable, manual --------------------------------------------------------------

@pytest.mark.parametrize("name", DOWNLOADABLE)
@pytest.mark.parametrize("where", ["missing folder", "closed port"])
def test_unreachable_source_says_where_to_put_the_files(tmp_path, name, where):
    mirror = (tmp_path / "no-such-mirror").as_uri() if where == "missing folder" else "http://127.0.0.1:9"
    dest = tmp_path / "resources" / "raw" / name
    with pytest.raises(DownloadError) as err:
        download_dataset(name, dest, mirror=mirror, timeout=5)
    msg = str(err.value)
    source = SOURCES[name]
    assert f"could not download {mirror}/" in msg, msg
    assert ("no such file" if where == "missing folder" else "Connection refused") in msg, msg
    assert source.landing_page in msg and str(dest.absolute()) in msg and "`source:`" in msg, msg
    assert source.layout in msg
    assert sorted(p.name for p in dest.parent.iterdir()) == []


@pytest.mark.parametrize("name", MANUAL)
def test_manual_sources_always_say_where_to_get_and_put_the_files(tmp_path, name):
    dest = tmp_path / "resources" / "raw" / name
    with pytest.raises(DownloadError) as err:
        download_dataset(name, dest, mirror=tmp_path.as_uri())
    msg = str(err.value)
    assert "authors" in msg and str(dest.absolute()) in msg and SOURCES[name].layout in msg, msg
    assert not dest.exists()
    with pytest.raises(ChecksumError, match="no checksums are published"):
        verify_dataset(name, tmp_path)


# ---- unsafe archives and checksum lists ----------------------------------------------------------
@pytest.mark.parametrize("member", ["../escaped.txt", "/tmp/absolute-escape.txt",
                                    "MyoArmbandDataset-x/../../escaped.txt"])
@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_archive_member_escaping_the_destination_is_refused(tmp_path, member, kind):
    data = {member: b"evil", "ok.txt": b"fine"}
    archive = tmp_path / f"a.{kind}"
    archive.write_bytes(tar_gz(data) if kind == "tar.gz" else zip_bytes(data))
    dest = tmp_path / "out" / "x"
    with pytest.raises(DataFormatError, match="outside the destination"):
        download.extract_archive(archive, dest)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out" / "escaped.txt").exists()
    assert not Path("/tmp/absolute-escape.txt").exists()
    assert not (dest / "ok.txt").exists()  # checked before anything is written


def test_tar_link_pointing_outside_is_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        link = tarfile.TarInfo("root/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(buf.getvalue())
    with pytest.raises(DataFormatError, match="unsafe archive member"):
        download.extract_archive(archive, tmp_path / "out")


def test_archive_served_in_place_of_the_dataset_is_refused_whole(remote):
    mirror, dest_parent, manifests = remote
    serve("myoarmband", mirror, manifests)
    source = SOURCES["myoarmband"]
    (mirror / source.archive_path).write_bytes(tar_gz({"../../evil.txt": b"x"}))
    with pytest.raises(DataFormatError, match="outside the destination") as err:
        fetch("myoarmband", mirror, dest_parent, manifests)
    assert "Nothing was written" in str(err.value)
    assert leftovers(dest_parent) == [] and not (mirror.parent / "evil.txt").exists()


@pytest.mark.parametrize("path", ["pr_dataset/../../outside.dat", "/etc/passwd"])
def test_checksum_list_naming_a_path_outside_is_refused(remote, path):
    mirror, dest_parent, manifests = remote
    serve("hyser", mirror, manifests)
    sums = mirror / "files" / "hd-semg" / "1.0.0" / "SHA256SUMS.txt"
    sums.write_text(sums.read_text() + f"{'0' * 64}  {path}\n")
    with pytest.raises(DataFormatError, match="leaves the dataset folder"):
        fetch("hyser", mirror, dest_parent, manifests)
    assert leftovers(dest_parent) == []


def test_bad_sha256sums_line_is_named():
    with pytest.raises(DataFormatError, match=r"x\.txt: line 2 is not"):
        download.parse_sha256sums(f"{'a' * 64}  ok\nnot-a-hash  file\n", origin="x.txt")


# ---- verifying a copy you already have -----------------------------------------------------------
def test_verify_an_existing_copy_names_missing_and_mismatching_files(tmp_path):
    manifest = tmp_path / "m.sha256"
    manifest.write_text(sha256sums(MYO_FILES))
    copy = tmp_path / "copy"
    write_tree(copy, MYO_FILES)
    (copy / "notes.txt").write_text("mine")
    report = verify_dataset("myoarmband", copy, manifest=manifest)
    assert report.ok and report.checked == len(MYO_FILES) and report.unchecked == ["notes.txt"]

    changed = "PreTrainingDataset/Female0/training0/classe_0.dat"
    gone = "EvaluationDataset/Male3/experiment.csv"
    (copy / changed).write_bytes(b"changed")
    (copy / gone).unlink()
    report = verify_dataset("myoarmband", copy, manifest=manifest)
    assert not report.ok
    assert report.missing == [gone]
    assert report.mismatched == [(changed, sha256(MYO_FILES[changed]), sha256(b"changed"))]
    with pytest.raises(ChecksumError) as err:
        report.raise_for_problems()
    msg = str(err.value)
    assert changed in msg and sha256(b"changed") in msg and f"{gone}: missing" in msg, msg


def test_verify_hyser_fetches_the_published_checksums(remote):
    mirror, dest_parent, manifests = remote
    serve("hyser", mirror, manifests)
    copy = dest_parent / "hyser"
    write_tree(copy, HYSER_FILES)
    assert verify_dataset("hyser", copy, mirror=mirror.as_uri()).ok
    with pytest.raises(DownloadError, match="checking a local copy needs them"):
        verify_dataset("hyser", copy, mirror=(mirror / "gone").as_uri())


def test_zenodo_copy_cannot_be_verified_after_extraction(tmp_path):
    with pytest.raises(ChecksumError, match="MD5 of each archive"):
        verify_dataset("epn612", tmp_path)


def test_command_line_verify_and_sources(tmp_path, capsys):
    manifest = tmp_path / "m.sha256"
    manifest.write_text(sha256sums(MYO_FILES))
    write_tree(tmp_path / "copy", MYO_FILES)
    assert download.main(["verify", "myoarmband", str(tmp_path / "copy"), "--manifest", str(manifest)]) == 0
    (tmp_path / "copy" / "EvaluationDataset/Male3/experiment.csv").write_bytes(b"x")
    assert download.main(["verify", "myoarmband", str(tmp_path / "copy"), "--manifest", str(manifest)]) == 1
    assert "experiment.csv: expected sha256" in capsys.readouterr().out
    assert download.main(["sources"]) == 0
    assert "https://physionet.org/content/hd-semg/1.0.0/" in capsys.readouterr().out
    assert download.main(["names"]) == 0
    assert capsys.readouterr().out.split() == DOWNLOADABLE


def test_command_line_as_a_module_knows_the_manual_sources():
    # `python -m myoflow.download` runs a second copy of the module (__main__): the sources the
    # dataset modules hold must still be told apart by kind (the Makefile lists these names)
    proc = subprocess.run([sys.executable, "-m", "myoflow.download", "names"], capture_output=True,
                          text=True, check=True)
    assert proc.stdout.split() == DOWNLOADABLE and "csl" not in proc.stdout


# ---- the registry and the committed manifests ------------------------------------------------------
def test_every_dataset_module_source_is_found_through_the_registry():
    assert set(SOURCES) <= set(dataset_names())
    for name, source in SOURCES.items():
        assert source.name == name and get_source(name) is get_dataset(name).SOURCE is source
    assert {"csl", "icelab"} <= set(MANUAL) and "csl" not in DOWNLOADABLE
    with pytest.raises(ConfigError, match="known: .*myoarmband"):
        get_source("ninapro")


def test_every_dataset_has_a_source_with_its_published_address():
    urls = {name: s.first_url(download.resolve_base(s, None)) for name, s in SOURCES.items()
            if not isinstance(s, ManualSource)}
    assert set(urls) == set(DOWNLOADABLE)
    published = {
        "epn612": "https://zenodo.org/api/records/4421500",
        "hyser": "https://physionet.org/files/hd-semg/1.0.0/SHA256SUMS.txt",
        "uci_myo36": "https://archive.ics.uci.edu/static/public/481/emg+data+for+gestures.zip",
        "myoarmband": "https://codeload.github.com/UlysseCoteAllard/MyoArmbandDataset/tar.gz/"
                      "4de3efef85356fbf565d96a150f386d99165cfee",
        "ciildata": "https://codeload.github.com/LibEMG/CIILData/tar.gz/"
                    "b7230dd253b3cd2c2603f5fdeb0c3711551ba19f",
        "flexemg": "https://codeload.github.com/a-moin/flexemg/tar.gz/"
                   "8ce40c5341f7099ea4e6d5db220752cdfaf9c74a",
    }
    assert {name: urls.get(name) for name in published} == published
    assert "10.5281/zenodo.4421500" in SOURCES["epn612"].citation
    for source in SOURCES.values():
        assert source.landing_page and source.citation and source.licence and source.layout


@pytest.mark.parametrize("name", ARCHIVE_SOURCES)
def test_committed_manifest_is_valid_sha256sum_format(name):
    lines = (MANIFESTS / f"{name}.sha256").read_text(encoding="utf-8").splitlines()
    paths = []
    for line in lines:
        m = SHA256_LINE.match(line)
        assert m, f"{name}.sha256: bad line {line!r}"
        path = Path(m.group(1))
        assert not path.is_absolute() and ".." not in path.parts, line
        assert not path.name.upper().startswith(("README", "LICENSE", "PROVENANCE")), line
        paths.append(m.group(1))
    assert paths == sorted(paths) and len(paths) == len(set(paths)) > 0
    assert download.read_manifest(MANIFESTS / f"{name}.sha256").keys() == set(paths)
    assert f"`{name}.sha256`" in (MANIFESTS / "README.md").read_text()


def test_committed_manifests_cover_the_expected_files():
    counts = {n: len(download.read_manifest(MANIFESTS / f"{n}.sha256")) for n in ARCHIVE_SOURCES}
    assert counts == {"myoarmband": 2168, "ciildata": 2456, "flexemg": 61, "uci_myo36": 64}
    flex = download.read_manifest(MANIFESTS / "flexemg.sha256")
    assert all(p == "arraymap.mat" or "-Session1" in p for p in flex)  # session 1 only


@pytest.fixture(scope="module")
def real_copy():
    """``real_copy(name)``: the real published files of a set, extracted outside the repository
    (shared with tests/test_real_data.py's cache); skips where the archive is absent."""
    from test_real_data import _data_dir, _extract

    def get(name: str) -> Path:
        archive_name = getattr(get_dataset(name), "REAL_ARCHIVE", None)
        if archive_name is None:
            pytest.skip(f"{name}: no offline copy (its module names no REAL_ARCHIVE)")
        archive = _data_dir() / archive_name
        if not archive.is_file():
            pytest.skip(f"{archive} not found (real offline recordings absent on this machine)")
        return _extract(archive, name)

    return get


@pytest.mark.parametrize("name", ARCHIVE_SOURCES)
def test_committed_manifest_matches_the_real_published_files(real_copy, name):
    folder = real_copy(name)
    report = verify_dataset(name, folder)
    assert report.ok, report.describe()
    assert report.checked == len(download.read_manifest(MANIFESTS / f"{name}.sha256"))
    # only documentation (and the offline copies' own notes) is left out
    assert all(Path(p).name.upper().startswith(("README", "LICENSE", "PROVENANCE", ".MISSING"))
               for p in report.unchecked), report.unchecked
    assert download.manifest_lines(folder) == (MANIFESTS / f"{name}.sha256").read_text().splitlines()


# ---- the workflow: `source: download` ---------------------------------------------------------------
def myo_dat(seed: int, samples: int = 60) -> bytes:
    """A Myo recording as published: int8 levels stored as little-endian int16, 8 channels."""
    rng = np.random.default_rng(seed)
    return rng.integers(-100, 100, size=(samples, 8)).astype("<i2").tobytes()


def tiny_myoarmband() -> dict[str, bytes]:
    """Two pre-training participants and one evaluation participant (two sessions), each session
    4 cycles of the 7 gestures (classe_0 .. classe_27), as published but a few samples long."""
    sessions = ["PreTrainingDataset/Female0/training0", "PreTrainingDataset/Male1/training0",
                "EvaluationDataset/Female1/training0", "EvaluationDataset/Female1/Test0"]
    return {f"{s}/classe_{i}.dat": myo_dat(k * 100 + i) for k, s in enumerate(sessions) for i in range(28)}


def download_config(workdir: Path, mirror: str) -> Path:
    """The default config plus a Myo-armband dataset with `source: download` that the cross-user
    study reads."""
    path = workdir / "download.yaml"
    path.write_text(
        "datasets:\n"
        "  myo:\n"
        "    reader: myoarmband\n"
        "    source: download\n"
        f"    download: {{mirror: '{mirror}', timeout_s: 10, checksums: manifests/myoarmband.sha256}}\n"
        "crossuser:\n"
        "  dataset: myo\n"
        "  split: {training_users: 1, validation_users: 1}\n"
    )
    return path


def test_workflow_downloads_lists_and_converts_in_one_go(tmp_path):
    (tmp_path / "wd").mkdir()
    workdir = make_workdir(tmp_path / "wd")
    files = tiny_myoarmband()
    (workdir / "manifests").mkdir()
    (workdir / "manifests" / "myoarmband.sha256").write_text(sha256sums(files))
    mirror = tmp_path / "mirror"
    serve_archive(mirror, SOURCES["myoarmband"], files, extra={"README.md": b"code and docs\n"})
    args = ["--configfile", "config/config.yaml", "testconfig/tiny.yaml",
            str(download_config(workdir, mirror.as_uri()))]
    target = "results/crossuser/windows/raw.h5"

    # before the download nothing can be listed: the dry run stops at the checkpoint
    dry = snakemake(workdir, target, *args, "--dry-run")
    out = dry.stdout + dry.stderr
    assert "download_dataset" in out and "convert_recording" not in out, out[-3000:]
    assert not (workdir / "resources" / "raw").exists()

    snakemake(workdir, target, *args)
    raw = workdir / "resources" / "raw" / "myo"
    got = {k: v for k, v in read_tree(raw).items() if k != ".snakemake_timestamp"}  # Snakemake's marker
    assert got == {**files, "README.md": b"code and docs\n"}
    stores = sorted(p.name for p in (workdir / "results" / "store" / "myo").glob("*.h5"))
    assert stores == ["sub-000_ses-1.h5", "sub-011_ses-1.h5", "sub-023_ses-1.h5", "sub-023_ses-2.h5"]
    assert (workdir / "results" / "crossuser" / "windows" / "raw.h5").is_file()
    assert "files match" in (workdir / "logs" / "download" / "myo.log").read_text()
    assert sorted(p.name for p in raw.parent.iterdir()) == ["myo"]

    again = snakemake(workdir, target, *args, "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_workflow_offline_download_says_where_to_put_the_files(tmp_path):
    (tmp_path / "wd").mkdir()
    workdir = make_workdir(tmp_path / "wd")
    (workdir / "manifests").mkdir()
    (workdir / "manifests" / "myoarmband.sha256").write_text(sha256sums(MYO_FILES))
    args = ["--configfile", "config/config.yaml", "testconfig/tiny.yaml",
            str(download_config(workdir, "http://127.0.0.1:9"))]
    proc = snakemake(workdir, "results/crossuser/windows/raw.h5", *args, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    url = "http://127.0.0.1:9/UlysseCoteAllard/MyoArmbandDataset/tar.gz/"
    assert f"could not download {url}" in out, out[-4000:]
    assert SOURCES["myoarmband"].landing_page in out
    assert str(workdir / "resources" / "raw" / "myo") in out
    assert not (workdir / "resources" / "raw" / "myo").exists()
    log = (workdir / "logs" / "download" / "myo.log").read_text()
    assert SOURCES["myoarmband"].landing_page in log

    # put by hand where the message says: the next run uses the folder as it is
    write_tree(workdir / "resources" / "raw" / "myo", tiny_myoarmband())
    dry = snakemake(workdir, "results/crossuser/windows/raw.h5", *args, "--dry-run")
    out = dry.stdout + dry.stderr
    assert "download_dataset" not in out and "convert_recording" in out, out[-3000:]
