"""The attachment_text table: what each downloaded attachment file says, one row per version.

A version is one content of the file at a URL (its sha256): the first extraction is version 1; when a
later crawl downloads different bytes at the same URL, their text becomes version 2 and the earlier row
stays (current = 0). A file that could not be downloaded (too large, refused) or read (corrupt, too slow,
too big for memory) has its row too, method 'none' and the reason in `errors`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from archive.attachments import index
from archive.attachments.formats import Extracted, letters

TABLE = index.TABLE
COLUMNS = {
    "id": int, "url": str, "version": int, "current": int, "sha256": str, "size": int, "mime": str,
    "format": str, "method": str, "status": str, "text": str, "pages": int, "characters": int, "errors": str,
    "extractor": str, "seconds": float, "extracted_at": str, "warc_file": str, "warc_offset": int,
}
TEXT_MAX_CHARS = 2_000_000  # as archive.search bounds a text argument: longer text is cut, and says so


def ensure_schema(db) -> None:
    """Create attachment_text and its search index (sqlite_utils.Database)."""
    if TABLE not in db.table_names():
        db[TABLE].create(COLUMNS, pk="id")
        db[TABLE].create_index(["url", "version"], unique=True)
        db[TABLE].create_index(["sha256"])
    index.ensure_index(db.conn)


@dataclass
class Pending:
    url: str
    status: str | None  # the download's: "ok", "too_large", "http_404", ...
    sha256: str | None
    size: int | None
    mime: str | None
    warc_file: str | None
    warc_offset: int | None
    version: int  # the version its text will be
    retry_id: int | None = None  # with retry: the failed row to replace


# The newest download of each attachment URL (a file linked from several articles has several rows).
_LATEST = """SELECT url, status, sha256, size, mime, warc_file, warc_offset FROM (
  SELECT t.*, row_number() OVER (PARTITION BY url ORDER BY fetched_at DESC, rowid DESC) AS n
  FROM attachments t WHERE status IS NOT NULL) WHERE n = 1"""


def pending(conn: sqlite3.Connection, retry_failed: bool = False, limit: int | None = None) -> list[Pending]:
    """Attachments whose current download has no text row yet (or, with retry_failed, a failed one)."""
    rows = conn.execute(f"""SELECT d.*, c.id, c.sha256, c.status, c.version FROM ({_LATEST}) d
        LEFT JOIN {TABLE} c ON c.url = d.url AND c.current = 1 ORDER BY d.url""").fetchall()
    out = []
    for url, status, sha, size, mime, wf, wo, cid, csha, cstatus, cversion in rows:
        if cid is None:
            out.append(Pending(url, status, sha, size, mime, wf, wo, 1))
        elif csha != sha and status == "ok":
            out.append(Pending(url, status, sha, size, mime, wf, wo, cversion + 1))
        elif retry_failed and cstatus == "failed" and csha == sha:
            out.append(Pending(url, status, sha, size, mime, wf, wo, cversion, retry_id=cid))
        if limit is not None and len(out) >= limit:
            break
    return out


def record(conn: sqlite3.Connection, item: Pending, result: Extracted, seconds: float | None, now: str) -> str:
    """Store one extraction (one transaction); returns its status: 'ok', 'empty' or 'failed'."""
    text = result.text or ""
    errors = list(result.errors)
    if len(text) > TEXT_MAX_CHARS:
        text = text[:TEXT_MAX_CHARS]
        errors.append(f"text cut at {TEXT_MAX_CHARS:,} characters")
    failed = result.method == "none" and any(not e.startswith("no text layer") for e in errors)
    status = "ok" if letters(text) else "failed" if failed else "empty"
    if status != "ok" and not errors:
        errors.append("no text found")
    row = {
        "url": item.url, "version": item.version, "current": 1, "sha256": item.sha256, "size": item.size,
        "mime": item.mime, "format": result.format, "method": result.method if text else "none", "status": status,
        "text": text, "pages": result.pages, "characters": len(text), "extractor": result.extractor,
        "errors": "; ".join(errors) or None, "seconds": round(seconds, 3) if seconds is not None else None,
        "extracted_at": now, "warc_file": item.warc_file, "warc_offset": item.warc_offset,
    }
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    with index._transaction(conn):
        if item.retry_id is not None:
            sets = ", ".join(f"{k} = ?" for k in row)
            conn.execute(f"UPDATE {TABLE} SET {sets} WHERE id = ?", [*row.values(), item.retry_id])
        else:
            conn.execute(f"UPDATE {TABLE} SET current = 0 WHERE url = ? AND current = 1", [item.url])
            conn.execute(f"INSERT INTO {TABLE} ({cols}) VALUES ({marks})", list(row.values()))
    return status


def summary(conn: sqlite3.Connection) -> dict:
    """{format: {status: count}} over the current versions, and the number of versions in all."""
    out: dict = {}
    for fmt, status, n in conn.execute(f"SELECT coalesce(format, '-'), status, count(*) FROM {TABLE} "
                                       "WHERE current = 1 GROUP BY 1, 2"):
        out.setdefault(fmt, {})[status] = n
    return {"formats": out, "versions": conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]}


def texts_for_article(conn: sqlite3.Connection, article_url: str) -> list[dict]:
    """The current text row of each of an article's attachments (for the article page)."""
    cur = conn.execute(f"""SELECT x.url, x.text AS link_text, t.version, t.method, t.status, t.pages, t.characters,
        t.errors, t.format, t.text FROM attachments x JOIN {TABLE} t ON t.url = x.url AND t.current = 1
        WHERE x.article_url = ? ORDER BY x.rowid""", [article_url])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]


def as_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
