"""`EmbeddedTrainingServer`: cpserver in-process on loopback, on a fresh fictitious training database.

The database is a SQLite file in a private temporary folder (mode 0700) that holds fictitious data
only and is deleted when the server is closed (or, failing that, when the process exits). The seeded
starting state is kept as a template beside it, so "Reset training data" is a quick copy rather than
a new seed. The server listens on 127.0.0.1 only, on a port chosen once and kept across resets, so
the client's address for it never changes.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the server's libraries load on the worker thread that starts it, not at import
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

DEFAULT_CHILDREN = 2000
START_TIMEOUT_SECONDS = 30.0

AsgiApp = Any


class TrainingServerError(RuntimeError):
    """The embedded training server could not be prepared or started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database consistently (the backup API), replacing `target`."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    # sqlite3's context manager commits but does not close.
    src.close()
    dst.close()


class EmbeddedTrainingServer:
    """A training cpserver for this process.

    Args:
        children: how many fictitious children to seed.
        host: the loopback address to listen on.
        port: the port (0 picks a free one, kept across restarts).
        today: the seed's "today" (tests fix it; the default is the real date).
        wrap_app: wraps the ASGI application before it is served (tests add delays or faults).
        settings: extra `cpserver.config.Settings` values (tests shorten timeouts).
    """

    def __init__(
        self,
        *,
        children: int = DEFAULT_CHILDREN,
        host: str = "127.0.0.1",
        port: int = 0,
        today: dt.date | None = None,
        wrap_app: Callable[[AsgiApp], AsgiApp] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.children = children
        self.host = host
        self.port = port or free_port(host)
        self.today = today
        self._wrap_app = wrap_app
        self._settings = dict(settings or {})
        self._folder: Path | None = None
        self._engine: Engine | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    @property
    def url(self) -> str:
        """The server's address (without the `/api/v1` prefix)."""
        return f"http://{self.host}:{self.port}"

    @property
    def engine(self) -> Engine:
        """The live training database's engine (tests read the audit trail through it)."""
        if self._engine is None:
            raise TrainingServerError("the training server is not running")
        return self._engine

    @property
    def running(self) -> bool:
        """True while the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def database_path(self) -> Path:
        """The live training database file."""
        return self._private_folder() / "training.sqlite3"

    def _private_folder(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="cpclient-training-"))
        return self._folder

    @property
    def _template_path(self) -> Path:
        return self._private_folder() / "template.sqlite3"

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> str:
        """Seed (the first time), then serve; return the URL. Blocks until the server answers."""
        with self._lock:
            if self.running:
                return self.url
            if not self._template_path.exists():
                self._seed_template()
            if not self.database_path.exists():
                copy_sqlite(self._template_path, self.database_path)
            self._serve()
            return self.url

    def stop(self) -> None:
        """Stop serving (the data stays until `close` or `reset`)."""
        with self._lock:
            self._stop_locked()

    def reset(self) -> str:
        """Restore the starting fictitious data and serve again; return the URL."""
        with self._lock:
            self._stop_locked()
            if not self._template_path.exists():
                self._seed_template()
            copy_sqlite(self._template_path, self.database_path)
            self._serve()
            return self.url

    def close(self) -> None:
        """Stop and delete every file of the training database."""
        with self._lock:
            self._stop_locked()
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None

    def __enter__(self) -> EmbeddedTrainingServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the parts -------------------------------------------------------------------------------

    def _seed_template(self) -> None:
        from cpserver.seed import seed_database
        from cpserver.store.database import make_engine
        from cpserver.store.migrate import upgrade

        engine = make_engine(f"sqlite:///{self._template_path}")
        try:
            upgrade(engine)
            seed_database(engine, children=self.children, training=True, today=self.today)
        finally:
            # Closing the last connection checkpoints the WAL into the file.
            engine.dispose()

    def _serve(self) -> None:
        import uvicorn

        from cpserver.api.app import create_app, server_options
        from cpserver.config import Settings
        from cpserver.store.database import make_engine

        url = f"sqlite:///{self.database_path}"
        engine = make_engine(url)
        settings = Settings(database_url=url, training=True, production=True, **self._settings)
        app: AsgiApp = create_app(settings, engine)
        if self._wrap_app is not None:
            app = self._wrap_app(app)
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            **server_options(settings),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="cpclient-training-server", daemon=True)
        self._engine, self._server, self._thread = engine, server, thread
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self._stop_locked()
                raise TrainingServerError("the training server did not start")
            time.sleep(0.01)

    def _stop_locked(self) -> None:
        server, thread, engine = self._server, self._thread, self._engine
        self._server = self._thread = self._engine = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        if engine is not None:
            engine.dispose()
