"""The crawl's save path: article, version, attachment, listing and capture rows in plain SQL.

sqlite-utils' `insert(alter=True)`, `update()` and `upsert_all()` look the table up on every call
(its columns and their types, the row an update is about to change); on the save path of a crawl that
was about as much CPU as the INSERT itself, triggers and indexes included. Here every statement is a
fixed text with placeholders per set of columns, so the sqlite3 module prepares it once per
connection and reuses it (its statement cache). The schema and its migrations stay with sqlite-utils
(archive.store), as do the user-facing tools; values are converted as sqlite-utils converts them
(lists and dicts as JSON), so a row reads back the same whichever wrote it.

`atomic()` is one transaction, or, inside a transaction the caller holds (the writer's batch,
crawler.writer), one savepoint: an item that fails half-way leaves nothing of itself in the batch.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache

from sqlite_utils.db import jsonify_if_needed

from archive.search import index_text
from archive.searching.queued_index import QueuedIndex

# Every column of `articles` the crawler writes (archive.store creates the table from it).
ARTICLE_COLUMNS = {
    "url": str, "site": str, "sections": str, "breadcrumb": str, "title": str, "published": str,
    "source": str, "author": str, "body": str, "written_date": str, "index_no": str, "doc_no": str,
    "issuer": str, "topic": str, "xxgk": str, "images": str, "list_title": str, "list_date": str,
    "content_hash": str, "encoding": str, "http_status": int, "fetched_at": str, "first_seen": str,
    # extraction quality: "ok" or the flags ("no_date,site_title"), and where each field came from (JSON)
    "quality": str, "field_sources": str,
    "last_seen": str, "run_id": int,
    # incremental crawling, versions and deletions (see README "Running from cron")
    "version": int, "etag": str, "last_modified": str, "last_status": int, "checked_at": str,
    "missing_count": int, "missing_run": int, "gone_at": str, "unlisted_at": str,
    # how the newest fetch was made: "http" (Scrapy) or "browser" (rendered by Chromium, docs/browser.md)
    "fetched_by": str,
    # the raw capture of the newest fetch
    "warc_file": str, "warc_offset": int, "warc_length": int, "payload_digest": str,
}
CAPTURE_COLUMNS = {"warc_file": str, "warc_offset": int, "warc_length": int, "payload_digest": str}
XXGK_VERSION_COLUMNS = ("xxgk", "written_date", "index_no", "doc_no", "issuer", "topic")
# Fields whose change makes a new version of an article (the rest is bookkeeping). The crawler's
# content_hash covers title, published, body and attachment URLs; the rest is compared here.
CONTENT_FIELDS = ("title", "published", "body", "source", "author", "attachments", "xxgk")
METADATA_FIELDS = ("source", "author", "xxgk")
_VERSION_FIELDS = ("title", "published", "source", "author", "body", *CAPTURE_COLUMNS, *XXGK_VERSION_COLUMNS)
# An article's sections, as a JSON list of names in section order (its `sections` column).
SECTIONS = ("(SELECT json_group_array(name) FROM (SELECT s.name FROM article_sections a JOIN sections s "
            "ON s.id = a.section_id WHERE a.article_url = ? ORDER BY s.id))")
# The facet columns derived from it and from published and gone_at (archive/searching/browse.py
# FACET_COLUMNS), given in the same statement computed alike: the derive triggers then see nothing stale
# and spare the row a second write (its indexes and the narrow facet row written twice).
_SECTIONS_COLUMNS = (("sections", SECTIONS), ("section", f"json_extract({SECTIONS}, '$[0]')"))
_SHARE_COLS = ("mime", "size", "sha256", "status", "fetched_at", *CAPTURE_COLUMNS)
# A file already downloaded for another article: share what is known about it.
_SHARE_ATTACHMENT = (
    f"UPDATE attachments SET ({', '.join(_SHARE_COLS)}) = (SELECT {', '.join(_SHARE_COLS)} FROM attachments o "
    "WHERE o.url = attachments.url AND o.status IS NOT NULL ORDER BY o.fetched_at DESC LIMIT 1) "
    "WHERE article_url = ? AND status IS NULL AND EXISTS (SELECT 1 FROM attachments o "
    "WHERE o.url = attachments.url AND o.status IS NOT NULL)")


def utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[None]:
    """One transaction; a savepoint inside a transaction the caller holds (rolled back alone on error)."""
    if conn.in_transaction:
        queued = QueuedIndex.of(conn)
        mark = queued.mark() if queued else 0
        conn.execute("SAVEPOINT govnews_item")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # an error may have ended the whole transaction already
                conn.execute("ROLLBACK TO govnews_item")
                conn.execute("RELEASE govnews_item")
            if queued:  # the search index changes of what was rolled back
                queued.discard(mark)
            raise
        conn.execute("RELEASE govnews_item")
        return
    conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@lru_cache(maxsize=256)
def _insert_sql(table: str, cols: tuple[str, ...], computed: tuple[tuple[str, str], ...] = ()) -> str:
    names = [f"[{c}]" for c in cols] + [f"[{c}]" for c, _ in computed]
    values = ["?"] * len(cols) + [expr for _, expr in computed]
    return f"INSERT INTO [{table}] ({', '.join(names)}) VALUES ({', '.join(values)})"


@lru_cache(maxsize=256)
def _update_sql(table: str, cols: tuple[str, ...], key: str, computed: tuple[tuple[str, str], ...] = ()) -> str:
    sets = [f"[{c}] = ?" for c in cols] + [f"[{c}] = {expr}" for c, expr in computed]
    return f"UPDATE [{table}] SET {', '.join(sets)} WHERE [{key}] = ?"


_PLAIN = (str, int, float, bytes, type(None))


def _values(row: dict) -> list:
    """The row's values as sqlite-utils would store them (lists and dicts as JSON)."""
    return [v if type(v) in _PLAIN else jsonify_if_needed(v) for v in row.values()]


def insert(conn: sqlite3.Connection, table: str, row: dict, computed: tuple[tuple[str, str], ...] = (),
           params: Iterable = ()) -> int:
    """INSERT one row, values converted as sqlite-utils converts them; `computed` adds (column, SQL
    expression) pairs whose placeholders take `params`. Returns the new rowid."""
    sql = _insert_sql(table, tuple(row), computed)
    return conn.execute(sql, [*_values(row), *params]).lastrowid


def update(conn: sqlite3.Connection, table: str, key: str, value: object, row: dict,
           computed: tuple[tuple[str, str], ...] = (), params: Iterable = ()) -> None:
    """UPDATE the row whose `key` column is `value`: the columns of `row`, and `computed` as in insert()."""
    sql = _update_sql(table, tuple(row), key, computed)
    conn.execute(sql, [*_values(row), *params, value])


def same_metadata(stored: tuple, row: dict) -> bool:
    """Are source, author and the 政府信息公开 table as stored? (A field the record lacks is not compared.)"""
    for name, old in zip(METADATA_FIELDS, stored, strict=True):
        if name not in row:
            continue
        new = row[name]
        if name == "xxgk":
            old, new = (json.loads(v) if isinstance(v, str) and v else (v or {}) for v in (old, new))
        if (old or None) != (new or None):
            return False
    return True


def article_row(record: dict, run_id: int | None, now: str) -> dict:
    """The `articles` columns of an extracted record, as stored (its sections are computed in SQL)."""
    row = {k: record[k] for k in ARTICLE_COLUMNS if k in record and k != "sections"}
    for k in ("images", "xxgk", "field_sources"):
        if not isinstance(row.get(k), str | None):
            row[k] = json.dumps(row[k], ensure_ascii=False)
    if "quality_flags" in record:
        row["quality"] = ",".join(record["quality_flags"]) or "ok"
    # A page that answers again is neither missing nor gone (any earlier gone_at is lifted).
    row.update(url=record["url"], last_seen=now, run_id=run_id, checked_at=now, missing_count=0, missing_run=None,
               gone_at=None, last_status=record.get("http_status"))
    published = row.get("published")  # substr(published, 1, 4) and (1, 7); gone: gone_at IS NOT NULL
    row.update(year=published[:4] if isinstance(published, str) else None,
               month=published[:7] if isinstance(published, str) else None, gone=0)
    return row


# Bigram text computed where the article was extracted (record["fts_text"], crawler/extractpool.py), for
# the statement being run: the search index triggers' govnews_fts_text takes it instead of computing it.
_PRECOMPUTED: dict[str, str] = {}


def precomputed_index_text(text: str | None) -> str | None:
    """govnews_fts_text on the writer's connection (use_precomputed_index_text): the same text, computed
    by extraction when it could be, else here."""
    got = _PRECOMPUTED.get(text) if text is not None else None
    return got if got is not None else index_text(text)


def use_precomputed_index_text(conn: sqlite3.Connection) -> None:
    conn.create_function("govnews_fts_text", 1, precomputed_index_text, deterministic=True)


def text_check(text: str) -> int:
    """A checksum of the text the bigram text was computed from (the spider may change a field after)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _offer_index_text(record: dict) -> None:
    fts = record.get("fts_text")
    if not isinstance(fts, dict):
        return
    for k, got in fts.items():
        text = record.get(k)
        if isinstance(text, str) and isinstance(got, list | tuple) and len(got) == 2 and got[0] == text_check(text):
            _PRECOMPUTED[text] = got[1]


def save_article(conn: sqlite3.Connection, record: dict, run_id: int | None = None) -> str:
    """Upsert one extracted article; return 'new', 'updated' or 'unchanged' (see Archive.save_article)."""
    now = utcnow()
    url = record["url"]
    row = article_row(record, run_id, now)
    with atomic(conn):
        old = conn.execute(f"SELECT content_hash, version, {', '.join(METADATA_FIELDS)} FROM articles "
                           "WHERE url = ?", [url]).fetchone()
        if old is None:
            outcome, version = "new", 1
            row["first_seen"] = now
        elif old[0] == row.get("content_hash") and same_metadata(old[2:], row):
            outcome, version = "unchanged", old[1]
        else:
            outcome = "updated"
            version = 1 + (conn.execute("SELECT max(version) FROM article_versions WHERE article_url = ?",
                                        [url]).fetchone()[0] or 0)
        row["version"] = version
        # The sections are computed in the same statement (from article_sections, written by the listing).
        _offer_index_text(record)
        try:
            if old is None:
                insert(conn, "articles", row, _SECTIONS_COLUMNS, [url, url])
            else:
                update(conn, "articles", "url", url, row, _SECTIONS_COLUMNS, [url, url])
        finally:
            _PRECOMPUTED.clear()
        if outcome != "unchanged":
            insert(conn, "article_versions", {
                "article_url": url, "version": version, "run_id": run_id, "fetched_at": row.get("fetched_at") or now,
                "content_hash": row.get("content_hash"), **{k: row.get(k) for k in _VERSION_FIELDS},
                "attachments": json.dumps(record.get("attachments") or [], ensure_ascii=False)})
        # upsert, not replace: keep what was learnt by downloading each attachment
        for a in record.get("attachments") or ():
            conn.execute("INSERT INTO attachments (article_url, url, text) VALUES (?, ?, ?) ON CONFLICT "
                         "(article_url, url) DO UPDATE SET text = excluded.text",
                         [url, a["url"], jsonify_if_needed(a.get("text"))])
        if old is not None or record.get("attachments"):  # a new article without attachments has none to share
            conn.execute(_SHARE_ATTACHMENT, [url])
        conn.execute("UPDATE fetch_failures SET resolved_run = ? WHERE url = ? AND resolved_run IS NULL", [run_id, url])
    return outcome


def link_sections(conn: sqlite3.Connection, section_id: int, article_urls: Iterable[str],
                  run_id: int | None = None) -> None:
    """Record that these articles are listed in this section (kept even if the article fails)."""
    now = utcnow()
    with atomic(conn):
        for u in article_urls:
            # Listed again: no longer unlisted (here, nor as an article).
            conn.execute(
                "INSERT INTO article_sections (article_url, section_id, first_seen, last_listed_run) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (article_url, section_id) DO UPDATE SET "
                "last_listed_run = excluded.last_listed_run, unlisted_at = NULL", [u, section_id, now, run_id])
            # An archived article's sections (and no longer unlisted); one not archived yet gets them on insert.
            conn.execute(f"UPDATE articles SET sections = {SECTIONS}, unlisted_at = NULL WHERE url = ? AND "
                         f"(unlisted_at IS NOT NULL OR sections IS NOT {SECTIONS})", [u, u, u])


def save_capture(conn: sqlite3.Connection, run_id: int | None, url: str, kind: str | None, status: int,
                 mime: str | None, size: int, capture) -> None:
    """Index one WARC response/revisit record (archive.warc.Capture) so rows can point at it."""
    conn.execute("INSERT INTO captures (run_id, url, kind, status, mime, size, warc_file, warc_offset, warc_length, "
                 "payload_digest, record_id, warc_date, revisit_of, warc_dir) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 [run_id, url, kind, status, mime, size, capture.warc_file, capture.warc_offset, capture.warc_length,
                  capture.payload_digest, capture.record_id, capture.warc_date, capture.revisit_of,
                  getattr(capture, "warc_dir", None)])
