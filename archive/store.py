"""The archive: SQLite schema (through sqlite-utils) and every write.

One row per canonical article URL, upserted idempotently; each write is one transaction (or, inside
the crawl writer's batch, one savepoint), so a crawl killed at any moment leaves every committed row
intact (WAL mode, synchronous=NORMAL). The crawl's save path (articles, listings, captures) is plain
prepared SQL in archive.rows; the rest goes through sqlite-utils.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from archive import health, rows, search
from archive.attachments import store as attachment_text
from archive.rows import ARTICLE_COLUMNS, CAPTURE_COLUMNS, XXGK_VERSION_COLUMNS, utcnow

SCHEMA_VERSION = 2


def data_dir(db: str | os.PathLike, what: str) -> Path:
    """`<db stem>-<what>/` beside an archive file: its WARC files (warc) and run logs (logs)."""
    db = Path(db)
    return db.with_name(f"{db.stem}-{what}")


VERSION_COLUMNS = {
    "id": int, "article_url": str, "version": int, "run_id": int, "fetched_at": str, "content_hash": str,
    "title": str, "published": str, "source": str, "author": str, "body": str, "attachments": str,
    **CAPTURE_COLUMNS,
    # the 政府信息公开 fields (written_date … topic come from the xxgk table)
    "xxgk": str, "written_date": str, "index_no": str, "doc_no": str, "issuer": str, "topic": str,
}
# Columns added to the foundation's tables after they first shipped: added to old archives on open.
ADDED_COLUMNS = {
    "articles": {k: v for k, v in ARTICLE_COLUMNS.items() if k in (
        "version", "etag", "last_modified", "last_status", "checked_at", "missing_count", "missing_run",
        "gone_at", "unlisted_at", "quality", "field_sources", "fetched_by", *CAPTURE_COLUMNS)},
    "sections": {"walk_status": str, "walk_run": int, "walked_at": str},
    "article_sections": {"last_listed_run": int, "unlisted_at": str},
    "attachments": {"mime": str, "size": int, "sha256": str, "status": str, "fetched_at": str, **CAPTURE_COLUMNS},
    "article_versions": {k: str for k in XXGK_VERSION_COLUMNS},
    "crawl_runs": {"requeued": int,
                   "gone": int, "not_modified": int, "unlisted": int, "listing_pages": int, "attachments": int,
                   "pid": int, "warc_files": str, "batch": int, "resources": int, "resource_bytes": int},
    "captures": {"warc_dir": str},
}
MISSING_RUNS_FOR_GONE = 2  # consecutive runs answering 404/410 (or redirecting to an index) before gone_at


class Archive:
    """An archive database file. Open it, write crawl results into it, read it back."""

    def __init__(self, path: str | os.PathLike, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise FileNotFoundError(f"no archive at {self.path}")
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        search.register_functions(conn)  # the search index triggers call these
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.ensure_schema()

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        db = self.db
        with db.atomic():
            if "sites" not in db.table_names():
                db["sites"].create({"name": str, "title": str, "base_url": str, "allowed_hosts": str,
                                    "definition": str}, pk="name")
            if "sections" not in db.table_names():
                db["sections"].create({"id": int, "site": str, "name": str, "url": str}, pk="id",
                                      foreign_keys=[("site", "sites", "name")])
                db["sections"].create_index(["site", "name"], unique=True)
            if "crawl_runs" not in db.table_names():
                db["crawl_runs"].create({
                    "id": int, "site": str, "started": str, "finished": str, "status": str,
                    "requests": int, "bytes": int, "new": int, "updated": int, "unchanged": int,
                    "failed": int, "errors": str, "sections": str, "log_file": str, "argv": str,
                }, pk="id")
            if "articles" not in db.table_names():
                db["articles"].create(ARTICLE_COLUMNS, pk="url", foreign_keys=[("site", "sites", "name")])
                for cols in (["site"], ["published"], ["fetched_at"]):
                    db["articles"].create_index(cols)
            if "article_sections" not in db.table_names():
                db["article_sections"].create({"article_url": str, "section_id": int, "first_seen": str},
                                              pk=("article_url", "section_id"),
                                              foreign_keys=[("section_id", "sections", "id")])
                db["article_sections"].create_index(["section_id"])
            if "attachments" not in db.table_names():
                db["attachments"].create({"article_url": str, "url": str, "text": str}, pk=("article_url", "url"),
                                         foreign_keys=[("article_url", "articles", "url")])
            self._ensure_cron_schema()
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        # Last, so it sees every column the schema above added: full-text index, facet columns.
        search.ensure_search_schema(db)
        search.ensure_browse_schema(db)
        attachment_text.ensure_schema(db)  # extracted attachment text and its index (archive/attachments/)
        health.ensure_schema(db)  # the health checks' flags (archive/health.py)

    def _ensure_cron_schema(self) -> None:
        """Versions, raw captures and crawl bookkeeping; also upgrades archives made before them."""
        db = self.db
        for table, cols in ADDED_COLUMNS.items():
            if table not in db.table_names():  # created below, with every column
                continue
            have = set(db[table].columns_dict)
            for name, typ in cols.items():
                if name not in have:
                    db[table].add_column(name, typ)
        db["articles"].create_index(["quality", "published"], if_not_exists=True)  # the quality facet
        if "article_versions" not in db.table_names():
            db["article_versions"].create(VERSION_COLUMNS, pk="id", foreign_keys=[("article_url", "articles", "url")])
            db["article_versions"].create_index(["article_url", "version"], unique=True)
            # Archives from before versions: their current content becomes version 1.
            db.execute("""INSERT INTO article_versions (article_url, version, run_id, fetched_at, content_hash,
                title, published, source, author, body, attachments)
                SELECT url, 1, run_id, fetched_at, content_hash, title, published, source, author, body,
                (SELECT json_group_array(json_object('url', t.url, 'text', t.text)) FROM attachments t
                 WHERE t.article_url = articles.url) FROM articles""")
            db.execute("UPDATE articles SET version = 1 WHERE version IS NULL")
        if "captures" not in db.table_names():
            db["captures"].create({
                "id": int, "run_id": int, "url": str, "kind": str, "status": int, "mime": str, "size": int,
                **CAPTURE_COLUMNS, "record_id": str, "warc_date": str, "revisit_of": str, "warc_dir": str,
            }, pk="id", foreign_keys=[("run_id", "crawl_runs", "id")])
            db["captures"].create_index(["payload_digest"])
            db["captures"].create_index(["url"])
            db["captures"].create_index(["run_id"])
        if "fetch_failures" not in db.table_names():
            db["fetch_failures"].create({"url": str, "site": str, "what": str, "kind": str, "attempts": int,
                                         "first_run": int, "last_run": int, "last_at": str, "resolved_run": int},
                                        pk="url")

    # -- sites and sections ---------------------------------------------------------------------
    def save_site(self, site) -> dict[str, int]:
        """Record a crawler.sites.Site and its sections; return {section name: section id}."""
        with self.db.atomic():
            self.db["sites"].upsert({"name": site.name, "title": site.title, "base_url": site.base_url,
                                     "allowed_hosts": json.dumps(list(site.allowed_hosts)),
                                     "definition": json.dumps({"fixture": site.fixture}, ensure_ascii=False)},
                                    pk="name")
            ids = {}
            for s in site.sections:
                row = self.db.execute("SELECT id FROM sections WHERE site=? AND name=?", [site.name, s.name]).fetchone()
                if row:
                    self.db["sections"].update(row[0], {"url": s.url})
                    ids[s.name] = row[0]
                else:
                    ids[s.name] = self.db["sections"].insert({"site": site.name, "name": s.name, "url": s.url}).last_pk
            return ids

    # -- crawl runs -----------------------------------------------------------------------------
    def start_run(self, site: str, argv: Iterable[str] = (), log_file: str | None = None) -> int:
        with self.db.atomic():
            return self.db["crawl_runs"].insert({
                "site": site, "started": utcnow(), "status": "running", "requests": 0, "bytes": 0,
                "new": 0, "updated": 0, "unchanged": 0, "failed": 0, "errors": "{}", "sections": "{}",
                "log_file": log_file, "argv": json.dumps(list(argv), ensure_ascii=False),
            }).last_pk

    def mark_interrupted_runs(self) -> list[int]:
        """Runs still 'running' while nobody holds the archive's lock were killed: say so."""
        q = self.db.execute
        with self.db.atomic():
            ids = [r[0] for r in q("SELECT id FROM crawl_runs WHERE status = 'running'")]
            for i in ids:
                # Its counters never got written: recount what it left in the archive.
                requests, size = q("SELECT count(*), coalesce(sum(size), 0) FROM captures WHERE run_id = ?", [i]).fetchone()
                new, updated = q("SELECT count(*) FILTER (WHERE version = 1), count(*) FILTER (WHERE version > 1) "
                                 "FROM article_versions WHERE run_id = ?", [i]).fetchone()
                self.db["crawl_runs"].update(i, {"status": "interrupted", "requests": requests, "bytes": size,
                                                 "new": new, "updated": updated})
        return ids

    def update_run(self, run_id: int, **fields) -> None:
        with self.db.atomic():
            self.db["crawl_runs"].update(run_id, fields)

    def finish_run(self, run_id: int, status: str, counts: dict) -> None:
        row = {"finished": utcnow(), "status": status}
        for k, v in counts.items():
            row[k] = json.dumps(v, ensure_ascii=False, sort_keys=True) if isinstance(v, dict | list) else v
        with self.db.atomic():
            self.db["crawl_runs"].update(run_id, row)

    # -- articles -------------------------------------------------------------------------------
    def link_sections(self, section_id: int, article_urls: Iterable[str], run_id: int | None = None) -> None:
        """Record that these articles are listed in this section (kept even if the article fails)."""
        rows.link_sections(self.db.conn, section_id, article_urls, run_id)

    def save_article(self, record: dict, run_id: int | None = None) -> str:
        """Upsert one extracted article; return 'new', 'updated' or 'unchanged'.

        Every distinct content (by content_hash) is kept in article_versions with the capture it came
        from; `articles` holds the newest. A fetch whose content is unchanged writes no version.
        Written with prepared statements (archive.rows), the crawl's save path.
        """
        return rows.save_article(self.db.conn, record, run_id)

    def mark_not_modified(self, url: str, run_id: int | None, status: int = 304) -> None:
        """A conditional refetch answered 304: the stored content is current."""
        now = utcnow()
        with self.db.atomic():
            self.db.execute("UPDATE articles SET last_status = ?, checked_at = ?, last_seen = ?, missing_count = 0, "
                            "missing_run = NULL, gone_at = NULL WHERE url = ?", [status, now, now, url])

    def mark_missing(self, url: str, status: int, run_id: int) -> str:
        """An archived article answered 404/410 or redirected to an index page.

        Counted once per run; on the second consecutive run it is marked gone (gone_at). Nothing is
        deleted. Returns 'gone' when this call marked it gone, else 'missing'.
        """
        now = utcnow()
        with self.db.atomic():
            row = self.db.execute("SELECT missing_count, missing_run, gone_at FROM articles WHERE url = ?", [url]).fetchone()
            if row is None:
                return "missing"
            count, last_run, gone_at = row
            if last_run != run_id:
                count = (count or 0) + 1
            newly_gone = gone_at is None and count >= MISSING_RUNS_FOR_GONE
            self.db.execute("UPDATE articles SET last_status = ?, checked_at = ?, missing_count = ?, missing_run = ?, "
                            "gone_at = ? WHERE url = ?",
                            [status, now, count, run_id, now if newly_gone else gone_at, url])
        return "gone" if newly_gone else "missing"

    def record_failure(self, url: str, site: str, what: str | None, kind: str, run_id: int | None) -> None:
        """A fetch failed (after retries): counted once per run, so a page that never works is retried a few times."""
        now = utcnow()
        with self.db.atomic():
            row = self.db.execute("SELECT attempts, last_run FROM fetch_failures WHERE url = ?", [url]).fetchone()
            if row is None:
                self.db["fetch_failures"].insert({"url": url, "site": site, "what": what, "kind": kind, "attempts": 1,
                                                  "first_run": run_id, "last_run": run_id, "last_at": now})
            else:
                attempts = row[0] + (row[1] != run_id)
                self.db["fetch_failures"].update(url, {"kind": kind, "attempts": attempts, "last_run": run_id,
                                                       "last_at": now, "resolved_run": None})

    def resolve_failure(self, url: str, run_id: int | None) -> None:
        """A URL that failed before was fetched in this run."""
        with self.db.atomic():
            self.db.execute("UPDATE fetch_failures SET resolved_run = ? WHERE url = ? AND resolved_run IS NULL",
                            [run_id, url])

    # -- section walks ------------------------------------------------------------------------------
    def begin_walks(self, section_ids: Iterable[int], run_id: int) -> None:
        """Mark these sections' walks as in progress: a run killed mid-walk leaves them 'walking'."""
        with self.db.atomic():
            for sid in section_ids:
                self.db.execute("UPDATE sections SET walk_status = 'walking', walk_run = ? WHERE id = ?", [run_id, sid])

    def end_walks(self, outcomes: dict[int, bool], run_id: int) -> None:
        """Record how each section's listing walk ended ({section id: complete?}).

        Written when the crawl closes, after every item is stored: a run killed earlier leaves its
        walks 'walking', and the next run walks those sections to the end.
        """
        now = utcnow()
        with self.db.atomic():
            for sid, complete in outcomes.items():
                self.db.execute("UPDATE sections SET walk_status = ?, walk_run = ?, walked_at = ? WHERE id = ?",
                                ["complete" if complete else "incomplete", run_id, now, sid])

    def mark_unlisted(self, section_id: int, listed: set[str]) -> list[str]:
        """After a complete walk to a section's last page that saw `listed`: mark what it no longer lists.

        Returns the article URLs that became unlisted in this section (an article is unlisted as a
        whole when no section lists it any more). Nothing is deleted; listing it again clears the mark.
        """
        now = utcnow()
        with self.db.atomic():
            unlisted = [r[0] for r in self.db.execute(
                "SELECT article_url FROM article_sections WHERE section_id = ? AND unlisted_at IS NULL",
                [section_id]) if r[0] not in listed]
            for url in unlisted:
                self.db.execute("UPDATE article_sections SET unlisted_at = ? WHERE article_url = ? AND section_id = ?",
                                [now, url, section_id])
                self.db.execute("UPDATE articles SET unlisted_at = ? WHERE url = ? AND unlisted_at IS NULL AND NOT EXISTS "
                                "(SELECT 1 FROM article_sections WHERE article_url = ? AND unlisted_at IS NULL)",
                                [now, url, url])
        return unlisted

    # -- raw captures -------------------------------------------------------------------------------
    def save_capture(self, run_id: int | None, url: str, kind: str | None, status: int, mime: str | None,
                     size: int, capture) -> None:
        """Index one WARC response/revisit record (archive.warc.Capture) so rows can point at it."""
        rows.save_capture(self.db.conn, run_id, url, kind, status, mime, size, capture)  # one statement: atomic

    def run_warc_files(self, run_id: int) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT warc_file FROM captures WHERE run_id = ? ORDER BY warc_file", [run_id])]

    def original_capture(self, digest: str) -> dict | None:
        """The first full response record with this payload digest (what a revisit record refers to)."""
        row = self.db.execute(
            "SELECT url, warc_date, record_id FROM captures WHERE payload_digest = ? AND revisit_of IS NULL "
            "AND status BETWEEN 200 AND 299 ORDER BY id LIMIT 1", [digest]).fetchone()
        return {"url": row[0], "date": row[1], "record_id": row[2]} if row else None

    def save_attachment_file(self, url: str, info: dict, run_id: int | None) -> None:
        """What downloading an attachment gave: mime, size, sha256, status and the capture pointer."""
        cols = ("mime", "size", "sha256", "status", *CAPTURE_COLUMNS)
        row = {k: info.get(k) for k in cols}
        row["fetched_at"] = utcnow()
        with self.db.atomic():
            self.db.execute(f"UPDATE attachments SET {', '.join(f'{k} = ?' for k in row)} WHERE url = ?",
                            [*row.values(), url])
            if info.get("status") == "ok":
                self.db.execute("UPDATE fetch_failures SET resolved_run = ? WHERE url = ? AND resolved_run IS NULL",
                                [run_id, url])

    # -- incremental state --------------------------------------------------------------------------
    def incremental_state(self, site: str, max_attempts: int = 3) -> dict:
        """What a crawl of `site` needs to know to fetch only what is new (read once at its start)."""
        q = self.db.execute
        sections = {name: {"id": sid, "walk_status": status}
                    for sid, name, status in q("SELECT id, name, walk_status FROM sections WHERE site = ?", [site])}
        archived = {r[0]: {"etag": r[1], "last_modified": r[2], "gone_at": r[3], "section": r[4]} for r in q(
            "SELECT a.url, a.etag, a.last_modified, a.gone_at, (SELECT s.name FROM article_sections x JOIN sections s "
            "ON s.id = x.section_id WHERE x.article_url = a.url ORDER BY s.id LIMIT 1) FROM articles a WHERE a.site = ?",
            [site])}
        links: dict[str, set[str]] = {name: set() for name in sections}
        listed: set[str] = set()
        for url, name, unlisted in q("SELECT x.article_url, s.name, x.unlisted_at FROM article_sections x "
                                     "JOIN sections s ON s.id = x.section_id WHERE s.site = ?", [site]):
            listed.add(url)
            if unlisted is None:
                links[name].add(url)
        # Listed but never archived (the run fetching them was killed, or they failed): fetch again,
        # unless they already failed in `max_attempts` runs.
        pending = {r[0]: r[1] for r in q(
            "SELECT x.article_url, min(s.name) FROM article_sections x JOIN sections s ON s.id = x.section_id "
            "LEFT JOIN articles a ON a.url = x.article_url LEFT JOIN fetch_failures f ON f.url = x.article_url "
            "WHERE s.site = ? AND a.url IS NULL AND (f.url IS NULL OR f.attempts < ? OR f.resolved_run IS NOT NULL) "
            "GROUP BY x.article_url", [site, max_attempts])}
        # Attachments are settled once downloaded, skipped for size or refused with a 4xx; the others
        # (never tried because a run was killed, or failed with a timeout/5xx) are tried again, in at
        # most `max_attempts` runs like articles.
        settled = "(t.status IN ('ok', 'too_large') OR t.status LIKE 'http_4%')"
        attachments_done = {r[0] for r in q(
            "SELECT DISTINCT t.url FROM attachments t JOIN articles a ON a.url = t.article_url "
            f"WHERE a.site = ? AND {settled}", [site])}
        attachments_pending = {r[0]: r[1] for r in q(
            "SELECT t.url, min(t.article_url) FROM attachments t JOIN articles a ON a.url = t.article_url "
            "LEFT JOIN fetch_failures f ON f.url = t.url "
            f"WHERE a.site = ? AND NOT coalesce({settled}, 0) "
            "AND (f.url IS NULL OR f.attempts < ? OR f.resolved_run IS NOT NULL) GROUP BY t.url",
            [site, max_attempts])}
        # Page resources that failed (404, timeout, …: their article was archived without them) are tried
        # again by the next runs, in at most `max_attempts` (an unchanged article is not read again).
        resources_pending = {r[0]: r[1] for r in q(
            "SELECT url, what FROM fetch_failures WHERE site = ? AND what IN ('image', 'resource') "
            "AND resolved_run IS NULL AND attempts < ? ORDER BY url", [site, max_attempts])}
        return {"sections": sections, "archived": archived, "known": listed | set(archived), "links": links,
                "pending": pending, "attachments_done": attachments_done, "attachments_pending": attachments_pending,
                "resources_pending": resources_pending}

    def article(self, url: str) -> dict | None:
        rows = list(self.db["articles"].rows_where("url = ?", [url]))
        return rows[0] if rows else None

    def counts(self) -> dict[str, int]:
        return {t: self.db[t].count for t in ("articles", "article_sections", "attachments", "crawl_runs")}
