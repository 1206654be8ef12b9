"""The search index changes of a writer's batch, queued and written at its commit.

FTS5 writes the terms it holds in memory to disk (a new index segment, merged later) at every savepoint
and every statement journal of the transaction: with the index triggers writing it, that is once per
article in a batch (each item is a savepoint, and an INSERT whose triggers write other tables opens a
statement journal), about 0.17 ms of the 0.6 ms an article cost the distributed writer (bench/distributed.py
--ingest-only). Queued, the batch's index rows are written together before COMMIT: one segment per batch,
in the same transaction as the rows they index (a kill -9 loses both or neither).

The index triggers (archive/search.py) call govnews_fts_defer(old rowid, old texts..., new rowid, new
texts...): 0 on every other connection (the trigger writes the index itself), here 1 while a batch is
open, having queued the change. A savepoint rolled back (archive.rows.atomic) discards what it queued.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from itertools import groupby


class QueuedIndex:
    """Index changes queued on one connection while `active` (crawler.batch turns it on per batch)."""

    # By id(): a connection takes no attributes nor weak references; held here until close(), so no other
    # connection can get its id meanwhile.
    _of: dict[int, QueuedIndex] = {}

    def __init__(self, conn: sqlite3.Connection, index_text: Callable[[str | None], str | None]) -> None:
        from archive.search import FTS_TABLE, INDEXED_COLUMNS, register_functions

        self.conn, self.index_text, self.active = conn, index_text, False
        self.ops: list[tuple] = []  # ("delete" | "insert", rowid, index texts...) in the order they happened
        self.width = len(INDEXED_COLUMNS)
        cols = ", ".join(INDEXED_COLUMNS)
        marks = ", ".join("?" * self.width)
        self.sql = {"insert": f"INSERT INTO {FTS_TABLE}(rowid, {cols}) VALUES (?, {marks})",
                    "delete": f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {cols}) VALUES ('delete', ?, {marks})"}
        register_functions(conn)
        self._of[id(conn)] = self
        conn.create_function("govnews_fts_defer", 2 * (1 + self.width), self._defer)

    @classmethod
    def of(cls, conn: sqlite3.Connection) -> QueuedIndex | None:
        return cls._of.get(id(conn))

    def close(self) -> None:
        """Forget the connection (before closing it); nothing may be queued."""
        self._of.pop(id(self.conn), None)

    def _defer(self, *rows: object) -> int:
        if not self.active:
            return 0
        old, new = rows[:1 + self.width], rows[1 + self.width:]
        for op, (rowid, *texts) in (("delete", old), ("insert", new)):
            if rowid is not None:
                self.ops.append((op, rowid, *map(self.index_text, texts)))
        return 1

    def mark(self) -> int:
        return len(self.ops)

    def discard(self, mark: int = 0) -> None:
        del self.ops[mark:]

    def flush(self) -> None:
        """Write what is queued, in order, in the caller's transaction (or on its own)."""
        ops, self.ops = self.ops, []
        for op, same in groupby(ops, key=lambda o: o[0]):
            self.conn.executemany(self.sql[op], [o[1:] for o in same])
