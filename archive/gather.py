"""WARC files written on other machines: which ones the archive points into are not here, where each
was written (captures.warc_dir, "host:/abs/dir"), and how to gather them.

A distributed crawl's workers write WARC files on their own disks (docs/distributed.md); `govnews warc
verify --db` and `govnews export wacz` need them in one directory: a shared filesystem mounted on every
worker, or copied there after the run (rsync).
"""

from __future__ import annotations

import os
import shlex
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from archive.warc import POINTER_TABLES


@dataclass
class MissingFile:
    name: str
    written_at: str | None  # "host:/abs/dir", None for captures made before warc_dir was recorded
    pointers: int  # capture pointers into it (every table)


def referenced_files(conn: sqlite3.Connection, run_id: int | None = None) -> dict[str, str | None]:
    """Every WARC file the archive points into (or, with run_id, that run's captures), with where it
    was written when that is recorded."""
    where = "WHERE warc_file IS NOT NULL" + (" AND run_id = ?" if run_id is not None else "")
    args = [run_id] if run_id is not None else []
    files: dict[str, str | None] = {}
    for name, warc_dir in conn.execute(f"SELECT warc_file, max(warc_dir) FROM captures {where} GROUP BY warc_file",
                                       args):
        files[name] = warc_dir
    if run_id is not None:  # and the files holding the originals its revisit records refer to
        for name, warc_dir in conn.execute(
                "SELECT o.warc_file, max(o.warc_dir) FROM captures c JOIN captures o ON o.record_id = c.revisit_of "
                "WHERE c.run_id = ? GROUP BY o.warc_file", args):
            files.setdefault(name, warc_dir)
    else:
        for table in POINTER_TABLES[1:]:
            for (name,) in conn.execute(f"SELECT DISTINCT warc_file FROM {table} WHERE warc_file IS NOT NULL"):
                files.setdefault(name, None)
    return files


def _pointer_counts(conn: sqlite3.Connection, names: set[str]) -> dict[str, int]:
    counts = dict.fromkeys(names, 0)
    for table in POINTER_TABLES:
        for name, n in conn.execute(f"SELECT warc_file, count(*) FROM {table} WHERE warc_file IS NOT NULL "
                                    "GROUP BY warc_file"):
            if name in counts:
                counts[name] += n
    return counts


def missing_files(db: str | os.PathLike, present: set[str], run_id: int | None = None) -> list[MissingFile]:
    """The WARC files the archive points into whose names are not in `present`, by name."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        files = referenced_files(conn, run_id)
        names = set(files) - present
        counts = _pointer_counts(conn, names) if names else {}
    finally:
        conn.close()
    return [MissingFile(n, files[n], counts[n]) for n in sorted(names)]


def _source(written_at: str | None) -> str | None:
    """What rsync copies from: `dir/` on this host, `host:dir/` elsewhere."""
    if not written_at or ":" not in written_at:
        return None
    host, directory = written_at.split(":", 1)
    return f"{directory}/" if host == socket.gethostname() else f"{host}:{directory}/"


def gather_hint(missing: list[MissingFile], target: Path, db: str | os.PathLike | None = None) -> list[str]:
    """Lines telling how to bring the missing files into `target`, one rsync per place they were written."""
    sources = sorted({s for m in missing if (s := _source(m.written_at))})
    lines = ["gather them into one directory first: a shared filesystem mounted on every worker, or copy them:"]
    lines += [f"  rsync -a --include='*.warc.gz' --exclude='*' {shlex.quote(s)} {shlex.quote(str(target))}/"
              for s in sources]
    if any(m.written_at is None for m in missing):
        lines.append("  (where some were written is not recorded: captures made before captures.warc_dir; "
                     "look in each worker's --warc-dir)")
    if db is not None:
        lines.append(f"then: govnews warc verify --db {shlex.quote(str(db))} --warc-dir {shlex.quote(str(target))}")
    return lines


def describe(missing: list[MissingFile], target: Path, db: str | os.PathLike | None = None,
             limit: int = 200) -> list[str]:
    """The report: each missing file once, with where it was written, then how to gather them."""
    lines = [f"{len(missing)} WARC file{'s' if len(missing) != 1 else ''} the archive points into "
             f"{'are' if len(missing) != 1 else 'is'} not in {target}:"]
    for m in missing[:limit]:
        lines.append(f"  missing {m.name} (written at {m.written_at or 'an unrecorded place'}; "
                     f"{m.pointers} capture pointers into it)")
    if len(missing) > limit:
        lines.append(f"  … and {len(missing) - limit} more")
    return lines + gather_hint(missing, target, db)
