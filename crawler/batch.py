"""Batched transactions for the archive writer: one connection and one open transaction per archive file
in a crawl process, shared by the writers of every site crawled in it (crawler.run runs several site
crawlers in one reactor; two connections each holding a write transaction in one thread would wait on
each other's lock until the busy timeout).

Writes are committed every GOVNEWS_COMMIT_ITEMS writes or GOVNEWS_COMMIT_SECONDS seconds, whichever
comes first (the writer also commits on a timer, so a quiet polite crawl does not sit on an open
transaction), and at the points that must be durable at once: a run opened or finished, a writer
closed, before a WAL checkpoint. A commit is one WAL append instead of one per item (an article's row
with its dozen index entries, search index and facet rows), measured in bench/store.py.

Why a kill -9 still loses nothing the next run cannot recover: the archive's writes happen in one
order on one connection, so what a kill leaves committed is always a prefix of them — the same state a
kill at the last commit would have left, which resumption already handles (walks still 'walking' are
walked again to their end, listed articles never archived are fetched again, the run is marked
interrupted). WARC records are written and flushed before the index rows that point at them, so a
committed row never points at bytes that are not on disk; a record whose rows were not committed is
just not indexed (`govnews warc verify` checks rows against records, and the next run captures the
page again).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from archive.rows import precomputed_index_text, use_precomputed_index_text
from archive.searching.queued_index import QueuedIndex
from archive.store import Archive

DEFAULT_ITEMS = 200
DEFAULT_SECONDS = 1.0


class Batch:
    """The shared connection (`archive`) and its open transaction. Acquire one per writer; release it."""

    _open: dict[str, Batch] = {}

    def __init__(self, path: str, items: int, seconds: float) -> None:
        self.key, self.items, self.seconds = path, max(1, items), max(0.0, seconds)
        self.archive = Archive(path)
        self.conn: sqlite3.Connection = self.archive.db.conn
        use_precomputed_index_text(self.conn)  # bigram text from the extraction workers (archive.rows)
        # The batch's search index rows, written together at commit (one FTS5 segment per batch, not per item).
        self.index = QueuedIndex(self.conn, precomputed_index_text)
        self.users = 0
        self.pending = 0  # writes in the open transaction
        self.began = 0.0
        self.held = False  # a caller holds the transaction (the distributed writer's batches)

    @classmethod
    def acquire(cls, path: str | os.PathLike, items: int = DEFAULT_ITEMS, seconds: float = DEFAULT_SECONDS) -> Batch:
        key = os.path.realpath(path)
        batch = cls._open.get(key)
        if batch is None:
            batch = cls._open[key] = cls(key, items, seconds)
        batch.users += 1
        return batch

    def release(self) -> None:
        """Commit; the last user also closes the connection."""
        self.users -= 1
        if self.users > 0:
            self.commit()
            return
        self._open.pop(self.key, None)
        try:
            self.commit()
        finally:
            self.index.close()
            self.archive.close()

    @contextmanager
    def write(self) -> Iterator[None]:
        """One write (an item, a capture row) inside the open transaction, begun if need be; commits when
        the batch is due. The write's own statements are a savepoint (archive.rows.atomic)."""
        if self.held:
            yield
            return
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN")
            self.began, self.pending = time.monotonic(), 0
        self.index.active = True
        yield
        self.pending += 1
        if self.pending >= self.items or time.monotonic() - self.began >= self.seconds:
            self.commit()

    def due(self) -> bool:
        return (not self.held and self.conn.in_transaction and self.pending > 0
                and time.monotonic() - self.began >= self.seconds)

    def commit(self) -> None:
        """Commit the open transaction (if any) with its queued search index rows. On failure it is rolled
        back and the error raised."""
        if self.held:
            return
        if not self.conn.in_transaction and not self.index.ops:
            self.index.active = False
            return
        self.pending = 0
        try:
            self.index.flush()
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")
        except BaseException:
            self.index.discard()
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self.index.active = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction the caller holds (and acknowledges after): writes inside it are not committed
        on their own; it commits at the end, or rolls back on an error."""
        self.commit()
        self.held = True
        self.conn.execute("BEGIN")
        self.index.active = True
        try:
            yield
        except BaseException:
            self.held = False
            self.index.discard()
            self.index.active = False
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.held = False
        self.commit()
