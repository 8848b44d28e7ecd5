"""The worker processes of a feed load with `--jobs N`: started, watched and stopped the same way.

Both parallel loads (`parallel.load_in_parallel`, the initial load; `parallel_delta`, a delta) run
N processes made by the `spawn` start method (a fresh interpreter: no copy of the loader's
connections or locks), each given the database URL (password included: the worker opens its own
engine) and one queue shared by all for their messages to the loader. When one fails, the loader
stops the others (`stop(failed=True)`); either way it waits for every one to end.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Collection, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy.orm import Session

from cpserver.domain.feeds.bulk_update import BulkChildUpdates
from cpserver.domain.feeds.initial import fewer_collections


class LoaderGone(Exception):
    """The worker's loader process is gone (the worker stops; its current chunk is not written)."""


def run_worker(url: str, lane_k: int, messages: Any, body: Callable[[Session], object]) -> None:
    """A worker process's frame around `body(session)`: its own engine and session (bulk child
    updates, the collector run less often), then ("done", lane, what `body` returned) on
    `messages`. A failure is reported by its kind only (a database error's text can quote a row's
    values); a worker whose loader is gone exits without waiting on a queue nobody reads."""
    from cpserver.store.database import make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session, BulkChildUpdates(session), fewer_collections():
            result = body(session)
        messages.put(("done", lane_k, result))
    except LoaderGone:
        messages.cancel_join_thread()  # nobody reads the queue any more: exit without waiting
    except BaseException as failed:
        messages.put(("failed", lane_k, type(failed).__name__))
    finally:
        engine.dispose()


class Workers:
    """The spawn context, the database URL and the message queue of one load's workers, and, once
    `start` has run, their processes (one per lane, lane k at index k).

    Made from the loader's session, whose transaction it commits (the workers must see what the
    loader wrote, the batch row first).
    """

    def __init__(self, session: Session) -> None:
        bind = session.get_bind()
        self.url: str = bind.url.render_as_string(hide_password=False)  # type: ignore[union-attr]
        session.commit()
        self.context = multiprocessing.get_context("spawn")
        self.messages: Any = self.context.Queue()
        self.processes: list[BaseProcess] = []

    def queue(self, maxsize: int = 0) -> Any:
        """Another queue the workers can be given (made by the same start method)."""
        return self.context.Queue(maxsize=maxsize)

    def start(
        self, jobs: int, name: str, target: Callable[..., None], args: Callable[[int], Sequence[Any]]
    ) -> None:
        """Start `jobs` daemon processes `name-k` running `target(*args(k))`."""
        self.processes = [
            self.context.Process(target=target, args=tuple(args(k)), name=f"{name}-{k}", daemon=True)
            for k in range(jobs)
        ]
        for process in self.processes:
            process.start()

    def first_stopped(self, finished: Collection[int]) -> int | None:
        """The first lane not in `finished` whose process has ended (without saying so), or None."""
        dead = [
            k
            for k, process in enumerate(self.processes)
            if k not in finished and process.exitcode is not None
        ]
        return dead[0] if dead else None

    def stop(self, *, failed: bool) -> None:
        """Wait for every worker to end; when the load `failed`, end the live ones first."""
        if failed:
            for process in self.processes:
                if process.is_alive():
                    process.terminate()
        for process in self.processes:
            process.join()
