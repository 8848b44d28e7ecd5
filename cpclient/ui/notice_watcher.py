"""`NoticeWatcher`: polls the unread-notice count while someone is signed in, off the Qt thread.

The count holds no personal data, so polling it discloses nothing; the notices themselves are fetched
(and audited by the server) only when the person opens the inbox. A poll never overlaps another, and
one that finishes after the session ended changes nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from cpclient.api.errors import ApiError
from cpclient.api.notices import NoticesClient, NoticeSummary
from cpclient.ui.background import BackgroundCalls

MIN_POLL_SECONDS = 5


class NoticeWatcher(QObject):
    """The unread count of the signed-in user.

    Args:
        client: the notice calls.
        calls: runs them off the Qt thread.

    Signals:
        changed(int, bool): the unread count, and whether there are more than it counts.
    """

    changed = Signal(int, bool)

    def __init__(self, client: NoticesClient, calls: BackgroundCalls, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._calls = calls
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.poll_now)
        self._task: asyncio.Task[Any] | None = None
        self._generation = 0
        self.unread = 0
        self.more = False

    @property
    def active(self) -> bool:
        """True while polling."""
        return self._timer.isActive()

    def start(self, poll_seconds: int) -> None:
        """Poll now and then every `poll_seconds` (the server's policy) until `stop()`."""
        self._generation += 1
        self._timer.start(max(MIN_POLL_SECONDS, poll_seconds) * 1000)
        self.poll_now()

    def stop(self) -> None:
        """Stop polling and forget the count (sign-out, lock, expiry)."""
        self._generation += 1
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._set(0, more=False)

    def poll_now(self) -> None:
        """Ask for the count now (skipped while a poll is still running)."""
        if not self._timer.isActive() or (self._task is not None and not self._task.done()):
            return
        self._task = self._calls.start(self._poll(self._generation))

    async def _poll(self, generation: int) -> None:
        try:
            summary: NoticeSummary = await self._calls.run(self._client.summary)
        except ApiError:
            return  # the next poll tries again; a session that ended is handled by `calls`
        if generation == self._generation:
            self._set(summary.unread, more=summary.more)

    def _set(self, unread: int, *, more: bool) -> None:
        if (unread, more) != (self.unread, self.more):
            self.unread, self.more = unread, more
            self.changed.emit(unread, more)
