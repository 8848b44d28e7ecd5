"""Writes a signed checkpoint of the audit chain periodically while the server runs, and at shut-down."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import Engine

from cpserver.audit.checkpoints import ensure_key, write_checkpoint
from cpserver.config import Settings

log = logging.getLogger("cpserver.audit")


class CheckpointTask:
    """The periodic checkpoint loop; `stop()` cancels it and writes a last checkpoint."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        assert settings.audit_key_file is not None and settings.checkpoint_dir is not None
        self.engine = engine
        self.directory = settings.checkpoint_dir
        self.interval = settings.checkpoint_interval_seconds
        self.key = ensure_key(settings.audit_key_file, settings.checkpoint_dir)
        self.task = asyncio.create_task(self._loop())

    async def checkpoint(self) -> None:
        try:
            written = await asyncio.to_thread(write_checkpoint, self.engine, self.key, self.directory)
        except Exception as error:  # keep serving; the next round tries again
            log.error("audit checkpoint failed: %s", type(error).__name__)
            return
        if written is not None:
            log.info("audit checkpoint written: %d rows in %d chains", written.rows, len(written.heads))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.checkpoint()

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.checkpoint()


def start_checkpoints(engine: Engine, settings: Settings) -> CheckpointTask | None:
    """Start checkpointing when the settings name a key file and a checkpoint folder."""
    if settings.audit_key_file is None or settings.checkpoint_dir is None:
        return None
    return CheckpointTask(engine, settings)
