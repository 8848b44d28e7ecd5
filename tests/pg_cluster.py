"""Throwaway PostgreSQL clusters on free local ports: a primary, streaming replicas, restarts and stops.

Built with the server binaries found under /usr/lib/postgresql/*/bin (or `pg_ctl` on PATH). As
root, the clusters run as the `postgres` system user (PostgreSQL refuses to run as root). Used by
the fault tests (a restart under load) and by the multi-node check (bench/multinode.py).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa


def binaries() -> Path | None:
    """The newest PostgreSQL server binaries on this machine, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner() -> list[str]:
    """A prefix that runs a command as the `postgres` user when we are root."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class Cluster:
    """One PostgreSQL server: its data folder and port."""

    bin: Path
    data: Path
    port: int
    log: Path
    running: bool = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/cp"

    def _ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*_as_owner(), str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
             "-t", "60", *args],
            check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start", "-o", f"-p {self.port} -k {self.data}")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop it; mode "immediate" is a crash (no checkpoint, recovery from WAL at the next start)."""
        self._ctl("stop", "-m", mode, check=False)
        self.running = False

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def sql(self, statement: str, database: str = "cp") -> object:
        engine = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}", isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as connection:
                result = connection.execute(sa.text(statement))
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()


@dataclass
class Clusters:
    """A temporary folder of clusters; `close()` stops them all and removes the folder."""

    root: Path
    bin: Path
    members: list[Cluster] = field(default_factory=list)

    def primary(self) -> Cluster:
        data = self.root / "primary"
        subprocess.run(
            [*_as_owner(), str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                "listen_addresses = '127.0.0.1'\nwal_level = replica\nmax_wal_senders = 5\n"
                "hot_standby = on\nfsync = on\nmax_connections = 60\nshared_buffers = 32MB\n"
            )
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        cluster = Cluster(self.bin, data, _free_port(), self.root / "primary.log")
        cluster.start()
        cluster.sql("CREATE DATABASE cp", database="postgres")
        self.members.append(cluster)
        return cluster

    def replica(self, primary: Cluster, name: str = "replica") -> Cluster:
        """A streaming hot standby of `primary`, from `pg_basebackup`."""
        data = self.root / name
        subprocess.run(
            [*_as_owner(), str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        cluster = Cluster(self.bin, data, _free_port(), self.root / f"{name}.log")
        cluster.start()
        self.members.append(cluster)
        return cluster

    def close(self) -> None:
        for cluster in self.members:
            if cluster.running:
                cluster.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def make_clusters() -> Clusters | None:
    """A place for throwaway clusters, or None when this machine has no PostgreSQL server binaries."""
    found = binaries()
    if found is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="cp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        root.chmod(0o755)
    return Clusters(root, found)


def wait_until(condition: object, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.1)
    return False
