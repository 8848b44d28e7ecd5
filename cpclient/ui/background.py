"""Runs blocking API calls on worker threads and brings the results back to the Qt thread as awaitables.

Widgets never call the API directly: they `await calls.run(fn)` inside a coroutine started with
`calls.start(coro)`. The Qt thread never blocks. Cancelling the task returned by `start` makes the
awaiting coroutine see `asyncio.CancelledError` at once; the worker finishes its request in the
background (every request has a timeout) and its result is discarded.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from cpclient.api.errors import Forbidden, SessionExpired

if TYPE_CHECKING:  # asyncio and the thread pool load on first use: the first window needs neither
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

T = TypeVar("T")
log = logging.getLogger(__name__)

# Codes of a refusal that means the server has ended this user's session.
SESSION_ENDING_CODES = frozenset({"account_suspended", "service_locked_down"})


class BackgroundCalls(QObject):
    """The worker threads and the running tasks of one window.

    Signals:
        session_ended(str): the server has ended the session; the argument is the message to show.
    """

    session_ended = Signal(str)

    def __init__(self, parent: QObject | None = None, *, workers: int = 4) -> None:
        super().__init__(parent)
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self, call: Callable[[], T]) -> T:
        """Run the blocking `call` on a worker thread and return its result.

        A `SessionExpired` (or a refusal that ends the session) is also announced through
        `session_ended` before it is re-raised, so one place can send the user back to sign in.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), call)
        except SessionExpired as error:
            self.session_ended.emit(error.message)
            raise
        except Forbidden as error:
            if error.code in SESSION_ENDING_CODES:
                self.session_ended.emit(error.message)
            raise

    def start(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coroutine` as a task on the Qt event loop; keep it alive until it finishes."""
        import asyncio

        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    @property
    def busy(self) -> bool:
        """True while any task started here is unfinished."""
        return any(not task.done() for task in self._tasks)

    def cancel_all(self) -> None:
        """Cancel every unfinished task (their results will be discarded)."""
        for task in list(self._tasks):
            task.cancel()

    def shutdown(self) -> None:
        """Cancel the tasks and let the worker threads end once their requests time out."""
        self.cancel_all()
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _pool(self) -> ThreadPoolExecutor:
        """The worker threads, started on first use (none after `shutdown`)."""
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="cpclient-api")
            if self._closed:
                self._executor.shutdown(wait=False, cancel_futures=True)
        return self._executor

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            # A bug, not a server answer (coroutines handle ApiError themselves). Only the type is
            # logged here; the installed excepthook decides what else may be recorded.
            log.error("background task failed: %s", type(error).__name__)
            sys.excepthook(type(error), error, error.__traceback__)
