"""The daily retention run inside `serve`: a background task that looks every few minutes whether
today's run is due, and runs it on a worker thread (one node at a time: `run_retention` takes the
lock and records the day, so the other servers and workers find it done)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cpserver.config import Settings
from cpserver.domain.retention import RunReport, run_retention
from cpserver.store.database import make_session_factory

log = logging.getLogger("cpserver.retention")


class RetentionTask:
    """The loop; `stop()` cancels it (a run in progress finishes on its thread, or rolls back)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.settings = settings
        self.factory = make_session_factory(engine)
        self.runs: list[RunReport] = []
        self.task = asyncio.create_task(self._loop())

    def run_if_due(self) -> RunReport | None:
        now = dt.datetime.now(dt.UTC)
        try:
            with self.factory() as session:
                return run_retention(session, self.settings, today=now.date(), now=now, only_if_due=True)
        except SQLAlchemyError as error:  # keep serving; the next look tries again
            log.error("retention run failed: %s", type(error).__name__)
            return None

    async def _loop(self) -> None:
        while True:
            report = await asyncio.to_thread(self.run_if_due)
            if report is not None:
                self.runs.append(report)
                if not report.skipped:
                    log.info("%s", report.summary())
            await asyncio.sleep(self.settings.retention_check_seconds)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def start_retention(engine: Engine, settings: Settings) -> RetentionTask | None:
    """Start the daily run unless the settings turn it off."""
    return RetentionTask(engine, settings) if settings.retention_run_daily else None
