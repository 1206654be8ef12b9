"""Serve an archive with Datasette, read-only.

Metadata, facets, canned queries, Chinese search and the article page come from our Datasette plugin
(archive.datasette_plugin, loaded through the `datasette` entry point), so a plain `datasette archive.db`
gets them too; here we only add the settings a big archive needs.

`--public` serves an immutable snapshot: a consistent copy made with VACUUM INTO (the live archive
keeps taking crawls), opened with `datasette -i` and a `datasette inspect` file, so Datasette never
locks, re-counts or re-hashes it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

SETTINGS = {
    "sql_time_limit_ms": 3000,
    # No download of the whole .db file; CSV/JSON downloads stay.
    "allow_download": "off",
    # Full-table CSV downloads stream every row (Datasette's limit counts characters, not bytes).
    "max_csv_mb": 0,
    # Suggested facets try every column (body included) on each page view: far too slow at 1M rows.
    "suggest_facets": "off",
    "facet_time_limit_ms": 1500,
}


class NotAnArchive(ValueError):
    """The file given to serve is not an SQLite database."""


def check_database(db_path: str | Path) -> None:
    """Raise NotAnArchive unless db_path is an SQLite database that opens (read-only) and has a schema."""
    try:
        conn = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise NotAnArchive(f"{db_path} is not an SQLite database ({e})") from None


def datasette_argv(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001, public: bool = False) -> list[str]:
    """The `datasette serve` command line for an archive (with --public, for its snapshot)."""
    argv = [sys.executable, "-m", "datasette", "serve", "--host", host, "--port", str(port)]
    for name, value in SETTINGS.items():
        argv += ["--setting", name, str(value)]
    if public:
        snapshot, inspect_file = public_snapshot(Path(db_path))
        argv += ["-i", str(snapshot), "--inspect-file", str(inspect_file)]
    else:
        argv.append(str(db_path))
    return argv


def public_snapshot(db_path: Path, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Make (or reuse, if newer than the archive) an immutable snapshot and its inspect file.

    The snapshot keeps the archive's file name, so the database name and every URL stay the same.
    """
    out_dir = out_dir or db_path.parent / f"{db_path.stem}-public"
    out_dir.mkdir(parents=True, exist_ok=True)
    snapshot = out_dir / db_path.name
    inspect_file = out_dir / f"{db_path.stem}.inspect.json"
    sources = [p for p in (db_path, Path(f"{db_path}-wal")) if p.exists()]
    newest = max(p.stat().st_mtime for p in sources)
    if snapshot.exists() and inspect_file.exists() and snapshot.stat().st_mtime >= newest:
        return snapshot, inspect_file
    tmp = snapshot.with_name(snapshot.name + ".tmp")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        src.execute("VACUUM INTO ?", [str(tmp)])
    finally:
        src.close()
    out = sqlite3.connect(tmp)
    # An immutable file must not be in WAL mode: readers would look for a -wal file.
    out.execute("PRAGMA journal_mode=DELETE")
    out.close()
    os.replace(tmp, snapshot)
    subprocess.run([sys.executable, "-m", "datasette", "inspect", str(snapshot), "--inspect-file", str(inspect_file)],
                   check=True)
    return snapshot, inspect_file
