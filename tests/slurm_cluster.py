"""A real single-node SLURM cluster on localhost, for tests (see /work/shared/spec/cluster.md).

Debian's ``slurm-wlm`` (Slurm 22.05) + ``munge`` + ``slurmdbd`` with a local MariaDB. The daemons run
in the foreground as children of the test process, so each one is known by its PID and stopped by
that PID, even when a test fails. Anything that makes the cluster impossible here (not root, no
apt-get, offline, a daemon that does not come up) raises :class:`ClusterUnavailable` with the reason;
the test turns that into a skip.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ["slurm-wlm", "munge", "slurmdbd", "mariadb-server", "mariadb-client"]
SLURM_CONF = Path("/etc/slurm/slurm.conf")  # must be here: the plugin's job step drops SLURM_CONF
SLURMDBD_CONF = Path("/etc/slurm/slurmdbd.conf")
POLICY_RC = Path("/usr/sbin/policy-rc.d")
PARTITION = "debug"
DB_PASSWORD = "myoflow-test"
PORTS = {"slurmctld": 6817, "slurmd": 6818, "slurmdbd": 6819}


class ClusterUnavailable(RuntimeError):
    """SLURM cannot be brought up on this machine (the message says why)."""


def _run(cmd, timeout=60, check=True, **kw):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as err:
        raise ClusterUnavailable(f"{' '.join(map(str, cmd))} timed out after {timeout} s") from err
    if check and proc.returncode != 0:
        raise ClusterUnavailable(
            f"{' '.join(map(str, cmd))} failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}"
        )
    return proc


def install(timeout: int = 420) -> None:
    """apt-get update once, then install the packages with service start-up suppressed."""
    if os.geteuid() != 0:
        raise ClusterUnavailable("needs root (installs packages and runs the SLURM daemons)")
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable("no apt-get (the test cluster uses Debian's slurm-wlm)")
    if all(shutil.which(b) for b in ("slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "sacct")):
        return
    created_policy = not POLICY_RC.exists()
    if created_policy:  # no systemd: keep the post-install scripts from starting services
        POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        _run(["apt-get", "update", "-qq"], timeout=timeout // 3, env=env)
        _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
             timeout=timeout, env=env)
    except ClusterUnavailable as err:
        raise ClusterUnavailable(f"apt-get could not install {' '.join(PACKAGES)} (offline?): {err}") from err
    finally:
        if created_policy:
            POLICY_RC.unlink(missing_ok=True)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(what: str, ready, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    state = f"exited with {proc.returncode}" if proc is not None and proc.poll() is not None else "not ready"
    raise ClusterUnavailable(f"{what} {state} after {timeout:.0f} s\n{tail}")


class Cluster:
    """Configure and start munged, mariadbd, slurmdbd, slurmctld and slurmd; stop them by PID."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.logs = self.root / "logs"
        self.state = self.root / "state"
        self.procs: dict[str, subprocess.Popen] = {}
        self._saved: dict[Path, bytes | None] = {}
        self.cpus = os.cpu_count() or 1
        self.node_mem_mb = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.85)

    # ---- configuration ---------------------------------------------------------------------
    def _write_etc(self, path: Path, text: str, mode: int) -> None:
        if path not in self._saved:
            self._saved[path] = path.read_bytes() if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)

    def slurm_conf(self) -> str:
        return f"""\
# myoflow test cluster (tests/slurm_cluster.py); removed when the test ends
ClusterName=myoflowtest
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MinJobAge=600
ReturnToService=2
SlurmctldPort={PORTS['slurmctld']}
SlurmdPort={PORTS['slurmd']}
StateSaveLocation={self.state}/slurmctld
SlurmdSpoolDir={self.state}/slurmd
SlurmctldPidFile={self.state}/slurmctld.pid
SlurmdPidFile={self.state}/slurmd.pid
SlurmctldLogFile={self.logs}/slurmctld.log
SlurmdLogFile={self.logs}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort={PORTS['slurmdbd']}
AccountingStoreFlags=job_comment
NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.node_mem_mb} State=UNKNOWN
PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""

    def slurmdbd_conf(self) -> str:
        return f"""\
AuthType=auth/munge
DbdHost=localhost
DbdPort={PORTS['slurmdbd']}
SlurmUser=root
LogFile={self.logs}/slurmdbd.log
PidFile={self.state}/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass={DB_PASSWORD}
StorageLoc=slurm_acct_db
"""

    # ---- daemons -----------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], **kw) -> subprocess.Popen:
        out = open(self.logs / f"{name}.out", "wb")
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, **kw)
        out.close()
        self.procs[name] = proc
        return proc

    def start(self) -> "Cluster":
        for name, port in PORTS.items():
            if _port_open(port):
                raise ClusterUnavailable(f"port {port} ({name}) is already in use: another SLURM is running")
        self.logs.mkdir(parents=True, exist_ok=True)
        for sub in ("slurmctld", "slurmd"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)

        # munge: key from the package (create one if missing), socket dir, daemon as user munge
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            _run(["mungekey", "--create", "--force"], timeout=30)
        shutil.chown(key, "munge", "munge")
        key.chmod(0o600)
        for d in (Path("/run/munge"), Path("/var/log/munge"), Path("/var/lib/munge")):
            d.mkdir(parents=True, exist_ok=True)
            shutil.chown(d, "munge", "munge")
        def munge_ok() -> bool:
            return subprocess.run("munge -n | unmunge", shell=True, capture_output=True,
                                  timeout=10).returncode == 0

        if not munge_ok():  # a munged already running (not ours) is used as it is
            munged = self._spawn("munged", ["munged", "--foreground", "--force"], user="munge", group="munge")
            _wait("munged", munge_ok, 20, munged, self.logs / "munged.out")

        # MariaDB with a private data dir (fresh accounting, job ids never clash with an earlier run),
        # on its default socket (slurmdbd reaches "localhost" through it), no TCP port
        if subprocess.run(["mariadb-admin", "ping"], capture_output=True, timeout=10).returncode == 0:
            raise ClusterUnavailable("a MariaDB server is already running on the default socket")
        Path("/run/mysqld").mkdir(parents=True, exist_ok=True)
        datadir = self.state / "mysql"
        _run(["mariadb-install-db", "--user=root", f"--datadir={datadir}",
              "--auth-root-authentication-method=socket", "--skip-test-db"], timeout=120)
        mariadbd = self._spawn("mariadbd", ["mariadbd", "--user=root", f"--datadir={datadir}",
                                            "--skip-networking", f"--log-error={self.logs}/mariadbd.log"])
        _wait("mariadbd", lambda: subprocess.run(["mariadb-admin", "ping"], capture_output=True,
                                                 timeout=10).returncode == 0,
              60, mariadbd, self.logs / "mariadbd.log")
        _run(["mariadb", "-e",
              f"CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '{DB_PASSWORD}'; "
              "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"], timeout=30)

        self._write_etc(SLURMDBD_CONF, self.slurmdbd_conf(), 0o600)
        self._write_etc(SLURM_CONF, self.slurm_conf(), 0o644)
        slurmdbd = self._spawn("slurmdbd", ["slurmdbd", "-D"])
        _wait("slurmdbd", lambda: _port_open(PORTS["slurmdbd"]), 60, slurmdbd, self.logs / "slurmdbd.log")
        slurmctld = self._spawn("slurmctld", ["slurmctld", "-D"])
        _wait("slurmctld", lambda: subprocess.run(["scontrol", "ping"], capture_output=True, text=True,
                                                  timeout=10).stdout.count("UP") > 0,
              60, slurmctld, self.logs / "slurmctld.log")
        slurmd = self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost"])
        _wait("slurmd", lambda: subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                                               timeout=10).stdout.strip() in ("idle", "mixed"),
              60, slurmd, self.logs / "slurmd.log")
        # accounting answers (the plugin polls job states with sacct)
        _wait("sacct", lambda: subprocess.run(["sacct", "-n", "-X"], capture_output=True,
                                              timeout=10).returncode == 0, 30)
        return self

    def stop(self) -> None:
        """Stop every daemon this object started (by PID, reverse order) and restore /etc/slurm."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            ids = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True,
                                 timeout=20).stdout.split()
            if ids:  # jobs left by a failed test: their steps would outlive slurmd
                subprocess.run(["scancel", *ids], capture_output=True, timeout=20)
                time.sleep(2)
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
                except ProcessLookupError:
                    pass
        self.procs.clear()
        for path, content in self._saved.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(content)
        self._saved.clear()

    def log_tail(self, chars: int = 4000) -> str:
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "slurmdbd.log"):
            path = self.logs / name
            if path.exists():
                parts.append(f"---- {name} ----\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)
