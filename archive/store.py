"""The archive: SQLite schema and every write, through sqlite-utils.

One row per canonical article URL, upserted idempotently; each write is one transaction, so a crawl
killed at any moment leaves every committed row intact (WAL mode, synchronous=NORMAL).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

SCHEMA_VERSION = 1


def utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


ARTICLE_COLUMNS = {
    "url": str, "site": str, "sections": str, "breadcrumb": str, "title": str, "published": str,
    "source": str, "author": str, "body": str, "written_date": str, "index_no": str, "doc_no": str,
    "issuer": str, "topic": str, "xxgk": str, "images": str, "list_title": str, "list_date": str,
    "content_hash": str, "encoding": str, "http_status": int, "fetched_at": str, "first_seen": str,
    "last_seen": str, "run_id": int,
}
# Fields whose change makes a new version of an article (the rest is bookkeeping).
CONTENT_FIELDS = ("title", "published", "body", "source", "author", "attachments")


class Archive:
    """An archive database file. Open it, write crawl results into it, read it back."""

    def __init__(self, path: str | os.PathLike, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise FileNotFoundError(f"no archive at {self.path}")
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
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
        with db.conn:
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
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # -- sites and sections ---------------------------------------------------------------------
    def save_site(self, site) -> dict[str, int]:
        """Record a crawler.sites.Site and its sections; return {section name: section id}."""
        with self.db.conn:
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
        with self.db.conn:
            return self.db["crawl_runs"].insert({
                "site": site, "started": utcnow(), "status": "running", "requests": 0, "bytes": 0,
                "new": 0, "updated": 0, "unchanged": 0, "failed": 0, "errors": "{}", "sections": "{}",
                "log_file": log_file, "argv": json.dumps(list(argv), ensure_ascii=False),
            }).last_pk

    def finish_run(self, run_id: int, status: str, counts: dict) -> None:
        row = {"finished": utcnow(), "status": status}
        for k, v in counts.items():
            row[k] = json.dumps(v, ensure_ascii=False, sort_keys=True) if isinstance(v, dict | list) else v
        with self.db.conn:
            self.db["crawl_runs"].update(run_id, row)

    # -- articles -------------------------------------------------------------------------------
    def link_sections(self, section_id: int, article_urls: Iterable[str]) -> None:
        """Record that these articles are listed in this section (kept even if the article fails)."""
        now = utcnow()
        with self.db.conn:
            self.db["article_sections"].insert_all(
                ({"article_url": u, "section_id": section_id, "first_seen": now} for u in article_urls),
                pk=("article_url", "section_id"), ignore=True)
            self._refresh_sections(article_urls)

    def _refresh_sections(self, urls: Iterable[str]) -> None:
        for url in urls:
            self.db.execute(
                "UPDATE articles SET sections = (SELECT json_group_array(name) FROM (SELECT s.name FROM "
                "article_sections a JOIN sections s ON s.id = a.section_id WHERE a.article_url = ? "
                "ORDER BY s.id)) WHERE url = ?", [url, url])

    def save_article(self, record: dict, run_id: int | None = None) -> str:
        """Upsert one extracted article; return 'new', 'updated' or 'unchanged'."""
        now = utcnow()
        url = record["url"]
        row = {k: record.get(k) for k in ARTICLE_COLUMNS if k in record}
        for k in ("images", "xxgk"):
            if not isinstance(row.get(k), str | None):
                row[k] = json.dumps(row[k], ensure_ascii=False)
        row.update(url=url, last_seen=now, run_id=run_id)
        with self.db.conn:
            old = self.db.execute("SELECT content_hash FROM articles WHERE url = ?", [url]).fetchone()
            if old is None:
                outcome = "new"
                row["first_seen"] = now
                self.db["articles"].insert(row, pk="url", alter=True)
            else:
                outcome = "unchanged" if old[0] == row.get("content_hash") else "updated"
                self.db["articles"].update(url, row, alter=True)
            self.db["attachments"].insert_all(
                ({"article_url": url, "url": a["url"], "text": a.get("text")} for a in record.get("attachments", [])),
                pk=("article_url", "url"), replace=True, alter=True)
            self._refresh_sections([url])
        return outcome

    def article(self, url: str) -> dict | None:
        rows = list(self.db["articles"].rows_where("url = ?", [url]))
        return rows[0] if rows else None

    def counts(self) -> dict[str, int]:
        return {t: self.db[t].count for t in ("articles", "article_sections", "attachments", "crawl_runs")}
