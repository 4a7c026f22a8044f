"""Fetch the public datasets from their original sources, check them, and put them in place.

Each dataset module of :mod:`myoflow.datasets` holds its :class:`Source` as ``SOURCE``
(:func:`get_source` looks it up; :func:`sources` lists them). A source records where the dataset is
published (landing page, citation, licence), how its files are fetched, which folder of the download
becomes the dataset folder, and what the files are checked against:

============================ ============================================ ==========================
kind                         fetched                                      checked against
============================ ============================================ ==========================
:class:`ArchiveSource`       one archive (GitHub tarball of a pinned      a committed SHA-256
                             commit, the UCI zip), extracted              manifest per file
:class:`PhysioNetSource`     the files the project's ``SHA256SUMS.txt``   that ``SHA256SUMS.txt``
                             lists under the dataset's subfolder
:class:`ZenodoSource`        every file of the record, archives           the MD5 sums the record
                             extracted                                    API lists
:class:`ManualSource`        nothing: no direct public download           -
============================ ============================================ ==========================

Committed manifests live in ``workflow/resources/checksums/<name>.sha256`` (``sha256sum`` format,
paths relative to the dataset folder; see the README there for how they were made). Files a manifest
does not list are kept but not checked; :class:`VerificationReport` names them.

Nothing half-written is left at the destination: everything is fetched into a hidden staging folder
beside it and renamed into place only after every check passed, so the destination either holds a
complete, checked copy or does not exist.

Every URL is ``<base>/<path>``. A mirror (the ``mirror`` argument or ``$MYOFLOW_MIRROR``; a URL or a
local folder) replaces the base of every source, so a mirror holds the files under the same paths
as the original servers, e.g. ``<mirror>/UlysseCoteAllard/MyoArmbandDataset/tar.gz/<commit>`` or
``<mirror>/files/hd-semg/1.0.0/SHA256SUMS.txt``. That is also how the tests serve a local folder.

Command line (``python -m myoflow.download --help``): ``fetch``, ``verify`` (a copy you already
have), ``manifest`` (write a manifest for a folder), ``sources`` and ``names`` (the datasets that can
be fetched, one line, for the Makefile).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import http.client
import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ClassVar

from .errors import ChecksumError, ConfigError, DataFormatError, DownloadError

log = logging.getLogger(__name__)

#: environment variable naming a mirror that replaces every source's base URL
MIRROR_ENV = "MYOFLOW_MIRROR"
#: seconds without an answer before a download gives up
DEFAULT_TIMEOUT_S = 60.0
#: the committed manifests (the library is installed in editable mode from the repository)
DEFAULT_MANIFEST_DIR = Path(__file__).resolve().parents[2] / "workflow" / "resources" / "checksums"
#: left out of manifests: documentation (not data; the offline copies edit it) and the marker
#: Snakemake writes into a directory output
NOT_IN_MANIFEST = ("README*", "LICENSE*", "PROVENANCE*", ".missing", ".snakemake_timestamp")

_CHUNK = 1 << 20
_USER_AGENT = "myoflow dataset download (Python urllib)"


# ---- reports -------------------------------------------------------------------------------
@dataclass
class VerificationReport:
    """What checking a dataset folder against its checksums found.

    ``mismatched`` holds ``(path, expected, actual)``; ``unchecked`` the files of the folder that no
    checksum covers (kept, not an error). Paths are relative to ``folder``.
    """

    dataset: str
    folder: Path
    algorithm: str
    against: str
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, str, str]] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched

    def describe(self, limit: int = 20) -> str:
        """A few lines for a log or an error message, naming each bad file (up to ``limit``)."""
        lines = [f"{self.dataset}: {self.folder} against {self.against}: {self.checked} files match"]
        for path, expected, actual in self.mismatched[:limit]:
            lines.append(f"  {path}: expected {self.algorithm} {expected}, got {actual}")
        if len(self.mismatched) > limit:
            lines.append(f"  ... and {len(self.mismatched) - limit} more mismatching files")
        for path in self.missing[:limit]:
            lines.append(f"  {path}: missing")
        if len(self.missing) > limit:
            lines.append(f"  ... and {len(self.missing) - limit} more missing files")
        if self.unchecked:
            lines.append(f"  {len(self.unchecked)} files not covered by the checksums (kept, not checked)")
        return "\n".join(lines)

    def raise_for_problems(self) -> None:
        """:class:`ChecksumError` naming the missing and mismatching files (up to 20 of each)."""
        if not self.ok:
            raise ChecksumError(
                f"{len(self.mismatched)} mismatching and {len(self.missing)} missing files\n"
                + self.describe()
            )


# ---- sources -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """Where a public dataset is published and what its dataset folder holds.

    ``layout`` says in words what the dataset folder holds (for messages); ``base_url`` is what a
    mirror replaces.
    """

    name: str
    title: str
    landing_page: str
    citation: str
    licence: str
    layout: str
    base_url: str = ""

    kind: ClassVar[str] = ""
    #: how the files are checked, in words
    verification: ClassVar[str] = ""

    def first_url(self, base: str) -> str:
        """The first URL a download asks for (for messages)."""
        raise NotImplementedError

    def fetch(self, staging: Path, base: str, timeout: float, manifest: Path | None) -> Path:
        """Fetch and check the files under ``staging``; return the dataset folder inside it."""
        raise NotImplementedError

    def verify(self, folder: Path, base: str, timeout: float, manifest: Path | None) -> VerificationReport:
        """Check an existing dataset folder against this source's checksums."""
        raise NotImplementedError


@dataclass(frozen=True)
class ArchiveSource(Source):
    """One archive, extracted; ``archive_root`` (its folder that becomes the dataset folder) is
    checked against the committed manifest ``<manifest dir>/<name>.sha256``."""

    archive_path: str = ""
    archive_root: str = ""

    kind: ClassVar[str] = "archive"
    verification: ClassVar[str] = "committed per-file SHA-256 manifest"

    def first_url(self, base: str) -> str:
        return join_url(base, self.archive_path)

    def fetch(self, staging: Path, base: str, timeout: float, manifest: Path | None) -> Path:
        url = self.first_url(base)
        archive = staging / "archive"
        log.info("%s: downloading %s", self.name, url)
        fetch_file(url, archive, timeout)
        tree = staging / "tree"
        extract_archive(archive, tree, label=url)
        archive.unlink()  # halves the disk space needed before the rename
        root = tree / self.archive_root
        if not root.is_dir():
            top = sorted(p.name for p in tree.iterdir())
            raise DataFormatError(f"{url}: the archive holds no folder {self.archive_root}/ "
                                  f"(top level: {top[:10]})")
        report = self.verify(root, base, timeout, manifest)
        log.info("%s", report.describe())
        report.raise_for_problems()
        return root

    def verify(self, folder: Path, base: str, timeout: float, manifest: Path | None) -> VerificationReport:
        path = manifest_path(self.name, manifest)
        expected = read_manifest(path)
        return check_files(self.name, folder, expected, "sha256", against=str(path))


@dataclass(frozen=True)
class PhysioNetSource(Source):
    """Every file the project's ``SHA256SUMS.txt`` lists under ``subfolder``, each checked against
    it; ``subfolder`` becomes the dataset folder."""

    project: str = ""
    version: str = ""
    subfolder: str = ""
    base_url: str = "https://physionet.org"

    kind: ClassVar[str] = "physionet"
    verification: ClassVar[str] = "the project's SHA256SUMS.txt (SHA-256 of every file)"

    def _files_path(self) -> str:
        return f"files/{self.project}/{self.version}"

    def first_url(self, base: str) -> str:
        return join_url(base, f"{self._files_path()}/SHA256SUMS.txt")

    def checksums(self, base: str, timeout: float) -> dict[str, str]:
        """``SHA256SUMS.txt`` entries under ``subfolder``: path relative to it -> SHA-256."""
        url = self.first_url(base)
        entries = parse_sha256sums(fetch_bytes(url, timeout).decode("utf-8", "replace"), origin=url)
        prefix = self.subfolder + "/"
        selected = {p[len(prefix):]: h for p, h in entries.items() if p.startswith(prefix)}
        if not selected:
            raise DataFormatError(f"{url}: lists no file under {prefix}")
        return selected

    def fetch(self, staging: Path, base: str, timeout: float, manifest: Path | None) -> Path:
        checksums = self.checksums(base, timeout)
        root = staging / self.subfolder
        log.info("%s: downloading %d files listed in %s", self.name, len(checksums), self.first_url(base))
        for i, (rel, expected) in enumerate(sorted(checksums.items()), 1):
            url = join_url(base, f"{self._files_path()}/{self.subfolder}/{urllib.parse.quote(rel)}")
            actual = fetch_file(url, root / rel, timeout, algorithm="sha256")
            if actual != expected:
                raise ChecksumError(f"{url}: {self.subfolder}/{rel}: expected sha256 {expected}, "
                                    f"got {actual}")
            if i % 100 == 0 or i == len(checksums):
                log.info("%s: %d of %d files downloaded and checked", self.name, i, len(checksums))
        return root

    def verify(self, folder: Path, base: str, timeout: float, manifest: Path | None) -> VerificationReport:
        return check_files(self.name, folder, self.checksums(base, timeout), "sha256",
                           against=self.first_url(base))


@dataclass(frozen=True)
class ZenodoSource(Source):
    """Every file of a Zenodo record, checked against the MD5 sums its API lists; archives are
    extracted and the dataset folder is the one folder holding every name in ``markers``."""

    record: str = ""
    markers: tuple[str, ...] = ()
    base_url: str = "https://zenodo.org"

    kind: ClassVar[str] = "zenodo"
    verification: ClassVar[str] = "the record API's MD5 of every published file (archives before extraction)"

    def first_url(self, base: str) -> str:
        return join_url(base, f"api/records/{self.record}")

    def record_files(self, base: str, timeout: float) -> list[tuple[str, str, str]]:
        """``(key, algorithm, checksum)`` of each file the record API lists."""
        url = self.first_url(base)
        try:
            doc = json.loads(fetch_bytes(url, timeout))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataFormatError(f"{url}: not a JSON record ({exc})") from exc
        files = doc.get("files") if isinstance(doc, dict) else None
        if isinstance(files, dict):  # the InvenioRDM form: {"entries": {key: {...}}}
            files = files.get("entries")
        if isinstance(files, dict):
            files = list(files.values())
        if not isinstance(files, list) or not files:
            raise DataFormatError(f"{url}: the record lists no files")
        out = []
        for entry in files:
            key, checksum = entry.get("key"), entry.get("checksum", "")
            algorithm, _, value = str(checksum).partition(":")
            if not isinstance(key, str) or not value or algorithm not in hashlib.algorithms_guaranteed:
                raise DataFormatError(f"{url}: file entry {entry!r} lacks a key or an 'md5:...' checksum")
            if "/" in key or key in (".", ".."):
                raise DataFormatError(f"{url}: file key {key!r} is not a plain file name")
            out.append((key, algorithm, value.lower()))
        return out

    def fetch(self, staging: Path, base: str, timeout: float, manifest: Path | None) -> Path:
        files = self.record_files(base, timeout)
        tree = staging / "tree"
        tree.mkdir()
        for key, algorithm, expected in files:
            url = join_url(base, f"records/{self.record}/files/{urllib.parse.quote(key)}")
            target = staging / "files" / key
            log.info("%s: downloading %s", self.name, url)
            actual = fetch_file(url, target, timeout, algorithm=algorithm)
            if actual != expected:
                raise ChecksumError(f"{url}: {key}: expected {algorithm} {expected}, got {actual}")
            if is_archive(target):
                extract_archive(target, tree, label=url)
                target.unlink()
            else:
                target.rename(tree / key)
        return find_dataset_root(tree, self.markers, label=f"Zenodo record {self.record}")

    def verify(self, folder: Path, base: str, timeout: float, manifest: Path | None) -> VerificationReport:
        raise ChecksumError(
            f"{self.name}: Zenodo publishes the MD5 of each archive of record {self.record}, not of "
            f"the files inside, so an extracted copy ({folder}) cannot be checked against it. Use "
            "`source: download` (it checks each archive before extracting it), or compare the MD5 "
            f"of your archive with the one on {self.landing_page}"
        )


@dataclass(frozen=True)
class ManualSource(Source):
    """No direct public download: ``how_to_get`` says where the files come from."""

    how_to_get: str = ""

    kind: ClassVar[str] = "manual"
    verification: ClassVar[str] = "none published"

    def first_url(self, base: str) -> str:
        return self.landing_page

    def fetch(self, staging: Path, base: str, timeout: float, manifest: Path | None) -> Path:
        raise DownloadError(self.how_to_get)  # download_dataset says so before getting here

    def verify(self, folder: Path, base: str, timeout: float, manifest: Path | None) -> VerificationReport:
        raise ChecksumError(f"{self.name}: no checksums are published for {self.title}; nothing to "
                            f"check {folder} against")


def github_source(name: str, owner: str, repo: str, commit: str, **meta: str) -> ArchiveSource:
    """A dataset that is a GitHub repository at a pinned commit.

    GitHub's codeload tarball of a commit holds one folder ``<repo>-<commit>``. The tarball itself is
    not byte-stable over time (GitHub has changed its compression), so the extracted files are
    checked, not the archive.
    """
    return ArchiveSource(
        name=name,
        landing_page=f"https://github.com/{owner}/{repo}/tree/{commit}",
        base_url="https://codeload.github.com",
        archive_path=f"{owner}/{repo}/tar.gz/{commit}",
        archive_root=f"{repo}-{commit}",
        **meta,
    )


def sources() -> dict[str, Source]:
    """name -> :class:`Source` of every registered dataset that has one (its module's ``SOURCE``)."""
    from .datasets import DATASETS  # the dataset modules import this module

    return {name: mod.SOURCE for name, mod in DATASETS.items() if getattr(mod, "SOURCE", None)}


def downloadable() -> list[str]:
    """Names of the datasets whose source can be fetched (every kind but :class:`ManualSource`)."""
    return sorted(n for n, s in sources().items() if not isinstance(s, ManualSource))


def get_source(name: str) -> Source:
    """The :class:`Source` of dataset ``name`` (its module's ``SOURCE``).

    Raises
    ------
    ConfigError
        An unknown dataset (listing the known ones), or one whose module has no ``SOURCE``
        (listing those with one).
    """
    from .datasets import get_dataset

    source = getattr(get_dataset(name), "SOURCE", None)
    if source is None:
        raise ConfigError(f"dataset {name!r} has no download source (its module defines no "
                          f"SOURCE); datasets with one: {', '.join(sorted(sources()))}")
    return source


# ---- the two entry points ------------------------------------------------------------------
def download_dataset(name: str, dest: str | os.PathLike, *, mirror: str | None = None,
                     timeout: float = DEFAULT_TIMEOUT_S, manifest: str | os.PathLike | None = None) -> Path:
    """Fetch dataset ``name`` from its source, check it, and rename it into ``dest``.

    Parameters
    ----------
    name : str
        Dataset name (a module of :mod:`myoflow.datasets` with a ``SOURCE``).
    dest : path
        The dataset folder to create; must not exist. Its parent holds the staging folder.
    mirror : str, optional
        URL or local folder replacing every source's base URL (default ``$MYOFLOW_MIRROR``, else
        the original servers).
    timeout : float
        Seconds without an answer before a request fails.
    manifest : path, optional
        Manifest to check an archive source against instead of the committed one.

    Raises
    ------
    DownloadError
        Offline, unreachable, HTTP error, or a manual source: names the URL and why, the landing
        page and the folder to fill by hand.
    ChecksumError
        A file does not match its checksum: names it, with the expected and actual hash.
    DataFormatError
        The download is not what the source promises (a path-escaping archive member, no dataset
        folder in it).
    """
    source = get_source(name)
    dest = Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest} already exists: remove it to download {name} again, or check "
                              f"it with `python -m myoflow.download verify {name} {dest}`")
    if isinstance(source, ManualSource):
        raise DownloadError(offline_message(source, dest, source.how_to_get))
    base = resolve_base(source, mirror)
    manifest = Path(manifest) if manifest else None
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        root = source.fetch(staging, base, timeout, manifest)
        root.rename(dest)  # same file system: the folder appears complete or not at all
    except DownloadError as exc:
        raise DownloadError(offline_message(source, dest, str(exc))) from exc
    except (ChecksumError, DataFormatError) as exc:
        raise type(exc)(f"{name}: {exc}\nNothing was written to {dest}. If {source.landing_page} "
                        "published new files, check them and point the dataset's `source:` at "
                        "your copy.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("%s: %s is complete", name, dest)
    return dest


def verify_dataset(name: str, folder: str | os.PathLike, *, mirror: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT_S,
                   manifest: str | os.PathLike | None = None) -> VerificationReport:
    """Check an existing copy of dataset ``name`` in ``folder`` against the source's checksums.

    Archive sources use the committed manifest (no network); PhysioNet fetches ``SHA256SUMS.txt``;
    Zenodo publishes archive checksums only and manual sources none, so those raise
    :class:`ChecksumError` saying so. The report names every missing and mismatching file; call
    :meth:`VerificationReport.raise_for_problems` to turn problems into an error.
    """
    source = get_source(name)
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (expected the {name} folder holding "
                                f"{source.layout})")
    try:
        return source.verify(folder, resolve_base(source, mirror), timeout,
                             Path(manifest) if manifest else None)
    except DownloadError as exc:
        raise DownloadError(f"{exc}\nThe checksums of {source.title} come from {source.landing_page}; "
                            "checking a local copy needs them.") from exc


def offline_message(source: Source, dest: Path, why: str) -> str:
    """What to do when ``source`` cannot be downloaded: where the files come from, which folder to
    put them in."""
    return (
        f"{source.name}: {why}.\n"
        f"Source: {source.title}, {source.landing_page} (cite: {source.citation}; licence: "
        f"{source.licence}).\n"
        f"Get the files there and put them, exactly as published, in\n    {dest.absolute()}\n"
        f"(the folder that holds {source.layout}); the next run uses that folder as it is. Or set "
        f"the dataset's `source:` to the folder of a copy you already have."
    )


def resolve_base(source: Source, mirror: str | None) -> str:
    """The base URL to fetch ``source`` from: ``mirror``, else ``$MYOFLOW_MIRROR``, else its own."""
    base = mirror or os.environ.get(MIRROR_ENV) or source.base_url
    if "://" not in base:  # a local folder
        base = Path(base).resolve().as_uri()
    return base.rstrip("/")


def join_url(base: str, path: str) -> str:
    return f"{base.rstrip('/')}/{path.lstrip('/')}"


# ---- fetching ------------------------------------------------------------------------------
def _open(url: str, timeout: float):
    """``urlopen`` with a user agent; every failure becomes a :class:`DownloadError` naming the URL."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"could not download {url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise DownloadError(f"could not download {url}: {_reason(exc.reason, timeout)}") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DownloadError(f"could not download {url}: {_reason(exc, timeout)}") from exc


def _reason(exc: object, timeout: float) -> str:
    """Why a request failed, in words."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, FileNotFoundError):
        return "no such file"  # a file:// mirror; the message names the URL
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} (offline, or the server is unreachable)"
    return str(exc) or type(exc).__name__


def fetch_file(url: str, target: Path, timeout: float, algorithm: str | None = None) -> str | None:
    """Stream ``url`` into ``target`` (parents created); return its ``algorithm`` hex digest.

    A dropped connection or a body shorter than its Content-Length raises :class:`DownloadError`;
    errors writing ``target`` (a full disk) propagate as they are.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.new(algorithm) if algorithm else None
    received = 0
    with _open(url, timeout) as response, open(target, "wb") as out:
        length = response.headers.get("Content-Length")
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise DownloadError(f"could not download {url}: {_reason(exc, timeout)} after "
                                    f"{received} bytes") from exc
            if not chunk:
                break
            out.write(chunk)
            received += len(chunk)
            if digest is not None:
                digest.update(chunk)
    if length is not None and length.isdigit() and int(length) != received:
        raise DownloadError(f"could not download {url}: the connection closed after {received} of "
                            f"{length} bytes")
    return digest.hexdigest() if digest is not None else None


def fetch_bytes(url: str, timeout: float) -> bytes:
    """A small document (a checksum list, a record's JSON) in memory."""
    with _open(url, timeout) as response:
        try:
            return response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"could not download {url}: {_reason(exc, timeout)}") from exc


# ---- archives ------------------------------------------------------------------------------
def is_archive(path: Path) -> bool:
    return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)


def _safe_member(name: str, label: str) -> None:
    """Refuse a member whose path would land outside the extraction folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DataFormatError(f"{label}: archive member {name!r} would be written outside the "
                              "destination; refusing to extract this archive")


def extract_archive(archive: Path, dest: Path, label: str = "") -> None:
    """Extract a zip or tar (any compression) into ``dest``, refusing path-escaping members.

    Tar links must point inside ``dest`` and device files are refused (tarfile's ``data`` filter);
    zip entries are extracted as plain files and folders.
    """
    label = label or str(archive)
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _safe_member(info.filename, label)
            zf.extractall(dest)
        return
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _safe_member(member.name, label)
            tar.extractall(dest, members=members, filter="data")
    except tarfile.FilterError as exc:
        raise DataFormatError(f"{label}: unsafe archive member ({exc}); refusing to extract") from exc
    except tarfile.TarError as exc:
        raise DataFormatError(f"{label}: not a readable zip or tar archive ({exc})") from exc


def find_dataset_root(tree: Path, markers: tuple[str, ...], label: str) -> Path:
    """The one folder under ``tree`` (``tree`` included) holding every name in ``markers``."""
    candidates = [tree, *sorted(p for p in tree.rglob("*") if p.is_dir())]
    found = [p for p in candidates if all((p / m).exists() for m in markers)]
    if len(found) != 1:
        names = [p.relative_to(tree).as_posix() for p in found]
        what = f"{len(found)} folders ({names})" if found else "no folder"
        raise DataFormatError(f"{label}: {what} holding {', '.join(markers)} in the downloaded files")
    return found[0]


# ---- checksums -----------------------------------------------------------------------------
def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def parse_sha256sums(text: str, origin: str) -> dict[str, str]:
    """``sha256sum`` lines (``<64 hex> <path>`` or ``<64 hex> *<path>``) -> {path: hash}.

    Paths are normalised (``./`` dropped) and must stay inside the folder they describe: a
    checksum list fetched from a server decides where files are written.
    """
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, _, rest = line.partition(" ")
        path = rest[1:] if rest[:1] in (" ", "*") else rest
        path = path.rstrip("\r")
        if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest) or not path:
            raise DataFormatError(f"{origin}: line {lineno} is not '<sha256> <path>': {line[:120]!r}")
        rel = PurePosixPath(path)
        if rel.is_absolute() or ".." in rel.parts:
            raise DataFormatError(f"{origin}: line {lineno}: path {path!r} leaves the dataset folder")
        key = rel.as_posix()
        if key in out:
            raise DataFormatError(f"{origin}: line {lineno}: {key} listed twice")
        out[key] = digest.lower()
    return out


def manifest_path(name: str, manifest: Path | None = None) -> Path:
    """``manifest``, else the committed ``<DEFAULT_MANIFEST_DIR>/<name>.sha256``."""
    path = manifest or DEFAULT_MANIFEST_DIR / f"{name}.sha256"
    if not path.is_file():
        raise ChecksumError(f"{name}: checksum manifest {path} not found (the committed manifests are "
                            "in workflow/resources/checksums/)")
    return path


def read_manifest(path: Path) -> dict[str, str]:
    entries = parse_sha256sums(path.read_text(encoding="utf-8"), origin=str(path))
    if not entries:
        raise DataFormatError(f"{path}: empty checksum manifest")
    return entries


def check_files(dataset: str, folder: Path, expected: dict[str, str], algorithm: str,
                against: str) -> VerificationReport:
    """Hash every file ``expected`` lists under ``folder``; name the missing and mismatching ones."""
    report = VerificationReport(dataset=dataset, folder=folder, algorithm=algorithm, against=against)
    for rel, want in sorted(expected.items()):
        path = folder / rel
        if not path.is_file():
            report.missing.append(rel)
            continue
        got = file_digest(path, algorithm)
        if got != want:
            report.mismatched.append((rel, want, got))
        else:
            report.checked += 1
    present = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    report.unchecked = sorted(p for p in present if p not in expected)
    return report


def manifest_lines(folder: Path) -> list[str]:
    """``sha256sum`` lines of every file under ``folder`` but documentation (:data:`NOT_IN_MANIFEST`),
    sorted by path: what a committed manifest holds."""
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(fnmatch.fnmatch(p.name, pat) for pat in NOT_IN_MANIFEST)
    )
    return [f"{file_digest(p)}  {p.relative_to(folder).as_posix()}" for p in files]


# ---- command line --------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``python -m myoflow.download {fetch,verify,manifest,sources,names}``."""
    ap = argparse.ArgumentParser(prog="python -m myoflow.download", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download a dataset into a new folder")
    verify = sub.add_parser("verify", help="check an existing copy against the source's checksums")
    known = sorted(sources())
    for p in (fetch, verify):
        p.add_argument("name", choices=known)
        p.add_argument("folder", type=Path)
        p.add_argument("--mirror", help=f"URL or folder replacing the original servers (or ${MIRROR_ENV})")
        p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
        p.add_argument("--manifest", type=Path, help="manifest to use instead of the committed one")
    manifest = sub.add_parser("manifest", help="print the sha256sum manifest of a dataset folder")
    manifest.add_argument("folder", type=Path)
    sub.add_parser("sources", help="list the sources")
    sub.add_parser("names", help="print the names of the datasets that can be fetched, on one line")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if args.command == "sources":
        for s in sources().values():
            print(f"{s.name:11s} {s.kind:9s} {s.landing_page}\n{'':21s} checked against: {s.verification}")
        return 0
    if args.command == "names":
        print(" ".join(downloadable()))
        return 0
    if args.command == "manifest":
        print("\n".join(manifest_lines(args.folder)))
        return 0
    try:
        if args.command == "fetch":
            download_dataset(args.name, args.folder, mirror=args.mirror, timeout=args.timeout,
                             manifest=args.manifest)
            return 0
        report = verify_dataset(args.name, args.folder, mirror=args.mirror, timeout=args.timeout,
                                manifest=args.manifest)
    except (DownloadError, ChecksumError, DataFormatError, FileExistsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.describe())
    return 0 if report.ok else 1


if __name__ == "__main__":
    # run the imported module's main: the dataset modules' SOURCE objects are instances of
    # myoflow.download's classes, not of this __main__ copy's (isinstance checks would fail)
    from myoflow.download import main as _main

    sys.exit(_main())
