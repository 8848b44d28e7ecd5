"""Running the API server: one process, or N worker processes sharing one listening socket.

With `--workers N` the parent binds the socket, starts N uvicorn workers on it (uvicorn's own
supervisor, which restarts a worker that dies), and writes the signed audit checkpoints itself, so
N workers do not each sign the same heads.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import uvicorn
from uvicorn.supervisors import Multiprocess

from cpserver.audit.checkpoints import ensure_key, write_checkpoint
from cpserver.config import Settings
from cpserver.store.database import make_engine

log = logging.getLogger("cpserver")
APP_FACTORY = "cpserver.api.app:app_from_environment"


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose accepted connections get TCP_NODELAY.

    asyncio turns Nagle's algorithm off only for sockets whose `proto` is IPPROTO_TCP, and accepted
    sockets inherit `proto` from the listener. uvicorn's `Config.bind_socket()` leaves it 0, so with
    `--workers` every keep-alive request after the first waits ~40 ms for a delayed ACK.
    Workaround for https://github.com/Kludex/uvicorn/issues/3149 (measured in bench/scale.py).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.set_inheritable(True)
    return listener


def settings_environment(settings: Settings) -> dict[str, str]:
    """The `CPSERVER_*` variables from which each worker rebuilds `settings` (no checkpoint key)."""
    values = settings.model_dump(exclude={"audit_key_file", "checkpoint_dir"}, exclude_none=True)
    return {f"CPSERVER_{name.upper()}": str(value) for name, value in values.items()}


class CheckpointThread:
    """The parent's checkpoint loop while workers serve: every interval and once at the end."""

    def __init__(self, settings: Settings) -> None:
        assert settings.audit_key_file is not None and settings.checkpoint_dir is not None
        self.settings = settings
        self.key = ensure_key(settings.audit_key_file, settings.checkpoint_dir)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="audit-checkpoints", daemon=True)
        self.thread.start()

    def checkpoint(self) -> None:
        assert self.settings.checkpoint_dir is not None
        engine = make_engine(self.settings.database_url, pool_size=1, max_overflow=0)
        try:
            written = write_checkpoint(engine, self.key, self.settings.checkpoint_dir)
            if written is not None:
                log.info("audit checkpoint written: %d rows in %d chains", written.rows, len(written.heads))
        except Exception as error:  # keep serving; the next round tries again
            log.error("audit checkpoint failed: %s", type(error).__name__)
        finally:
            engine.dispose()

    def _loop(self) -> None:
        while not self.stopping.wait(self.settings.checkpoint_interval_seconds):
            self.checkpoint()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.checkpoint()


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with `workers` processes until interrupted."""
    os.environ.update(settings_environment(settings))
    from cpserver.api.app import server_options

    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="info",
        **server_options(settings),
    )
    listener = bind_listener(host, port)
    checkpoints = (
        CheckpointThread(settings)
        if settings.audit_key_file is not None and settings.checkpoint_dir is not None
        else None
    )
    try:
        Multiprocess(config, sockets=[listener]).run()
    finally:
        if checkpoints is not None:
            checkpoints.stop()
        listener.close()
