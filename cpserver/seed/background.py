"""Generating in a thread while the previous batch is written: `in_background`."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def in_background(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Generate the next batches in a thread while this one is written.

    The drivers release the GIL while the database works (SQLite's steps, PostgreSQL's network
    round trips), so generating and writing overlap. One producer keeps the order, hence the data,
    exactly as without the thread; memory stays bounded by `depth` batches waiting.
    """
    handoff: queue.Queue[T | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: T | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(None)
        except BaseException as error:  # handed to the writer, which raises it
            put(error)

    producer = threading.Thread(target=produce, name="seed-generator", daemon=True)
    producer.start()
    try:
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join()
