"""Under overload the server answers fast with 503 `server_busy` and `Retry-After`, never a long queue."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from cpserver.api.app import create_app
from cpserver.config import Settings


def test_a_saturated_server_refuses_fast_with_retry_after_and_recovers(database_url):
    settings = Settings(database_url=database_url, max_concurrent_requests=1, queue_timeout_seconds=0.3)
    app = create_app(settings)
    entered, release = threading.Event(), threading.Event()

    def hold() -> dict[str, str]:
        entered.set()
        release.wait(10)
        return {}

    # A request that keeps the only slot busy until the test lets it go.
    app.add_api_route("/api/v1/test-hold", hold, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        holder = threading.Thread(target=client.get, args=("/api/v1/test-hold",))
        holder.start()
        assert entered.wait(10)
        started = time.monotonic()
        refused = client.get("/api/v1/meta")
        waited = time.monotonic() - started
        release.set()
        holder.join()
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "server_busy"
        assert refused.headers["retry-after"] == "2"
        assert refused.headers["cache-control"] == "no-store"
        assert 0.25 <= waited < 2.0, "refused after the short queue timeout, not after 30 s"
        assert client.get("/api/v1/meta").status_code == 200, "the server recovers by itself"


def test_a_request_that_waits_briefly_is_served(database_url):
    settings = Settings(database_url=database_url, max_concurrent_requests=1, queue_timeout_seconds=3)
    app = create_app(settings)
    entered, release = threading.Event(), threading.Event()

    def hold() -> dict[str, str]:
        entered.set()
        release.wait(10)
        return {}

    app.add_api_route("/api/v1/test-hold", hold, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        holder = threading.Thread(target=client.get, args=("/api/v1/test-hold",))
        holder.start()
        assert entered.wait(10)
        threading.Timer(0.2, release.set).start()
        assert client.get("/api/v1/meta").status_code == 200
        holder.join()


def test_pool_has_a_connection_for_every_request_allowed_in(database_url):
    settings = Settings(database_url=database_url, max_concurrent_requests=5)
    app = create_app(settings)
    engine = app.state.engine
    try:
        if engine.dialect.name == "postgresql":
            assert engine.pool.size() == 7 and engine.pool._max_overflow == 0
            assert engine.pool._timeout <= 5
    finally:
        engine.dispose()
