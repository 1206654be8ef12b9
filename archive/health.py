"""Health checks after every crawl run: did a site change under us?

Each run's per-section record (crawl_runs.sections) says how the walk ended and what it found; the
checks compare it with the section's own history (its previous runs) and the archive, and flag:

- `empty_section`: the listing answered and listed nothing, where the section's previous run listed articles;
- `articles_missing`: more than a share (GOVNEWS_HEALTH_MISSING_SHARE, 0.3) of the section's archived
  articles were found missing (404/410, or redirected to an index page) in this run, for the first time;
- `fill_drop`: the share of this run's articles with a date stated on the page, or with a source, fell by
  more than GOVNEWS_HEALTH_FILL_DROP (0.3 = 30 points) against the section's latest runs that archived
  articles, or their mean body length fell by more than that share (a redesigned article template);
- `needs_browser`: pages of the section needed a browser (a script shell, a challenge) and in its
  previous run none did;
- `section_added`, `section_vanished`, `section_renamed`: from `govnews discover --check` (record_discovery).

Flags are rows of `crawl_health` (run id, site, section, flag, value, threshold, detail). The crawler calls
check_run from the one run-closing path (crawler.writer.ArchiveWriter.finish_run: single-site, many-site and
--redis runs); docs/operations.md says what each flag means and what to do about it. No crawler imports here.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

FLAGS = ("empty_section", "articles_missing", "fill_drop", "needs_browser", "section_added", "section_vanished",
         "section_renamed")
COLUMNS = {"id": int, "run_id": int, "site": str, "section": str, "flag": str, "value": float, "threshold": float,
           "detail": str, "at": str}
BROWSER_KEYS = ("needs_browser", "browser_listing_pages", "browser_articles")


@dataclass
class Thresholds:
    """The checks' settings (GOVNEWS_HEALTH_*)."""

    missing_share: float = 0.3  # articles_missing: more than this share of a section's archived articles
    fill_drop: float = 0.3  # fill_drop: a fill rate down by more than this (0.3 = 30 points), body length by this share
    min_articles: int = 5  # articles_missing: the fewest archived articles a share is taken of
    min_fill: int = 10  # fill_drop: the fewest articles a fill rate is taken of (this run's, and the history's)
    history: int = 10  # the section's previous runs looked at


@dataclass
class Flag:
    site: str
    section: str | None
    flag: str
    value: float | None
    threshold: float | None
    detail: str
    run_id: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def ensure_schema(db: sqlite_utils.Database) -> None:
    if "crawl_health" not in db.table_names():
        db["crawl_health"].create(COLUMNS, pk="id")
        db["crawl_health"].create_index(["run_id"])
        db["crawl_health"].create_index(["site", "section"])


def article_facts(record: dict) -> dict[str, int]:
    """What one archived article adds to its section's record for the fill checks: a date the page
    states (not one read from the URL or the listing), a source, the body's length, a browser fetch."""
    sources = record.get("field_sources") or {}
    if isinstance(sources, str):
        sources = json.loads(sources or "{}")
    return {"fill_articles": 1, "fill_date": int(sources.get("published") not in (None, "url")),
            "fill_source": int(bool(record.get("source"))), "fill_body_chars": len(record.get("body") or ""),
            "browser_articles": int(record.get("fetched_by") == "browser")}


# -- the checks --------------------------------------------------------------------------------------------
def _records(sections_json: str | None) -> dict[str, dict]:
    try:
        data = json.loads(sections_json or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and k != "-"} if isinstance(data, dict) else {}


def _browser(rec: dict) -> int:
    return sum(int(rec.get(k) or 0) for k in BROWSER_KEYS)


def _needs_browser(site: str, name: str, rec: dict, past: list[tuple[int, dict]]) -> list[Flag]:
    now = _browser(rec)
    if not now or not past or _browser(past[0][1]):
        return []
    what = {"needs_browser": "pages need a browser (none used: needs_browser errors)",
            "browser_listing_pages": "listing pages rendered in the browser",
            "browser_articles": "articles rendered in the browser"}
    how = ", ".join(f"{rec[k]} {what[k]}" for k in BROWSER_KEYS if rec.get(k))
    return [Flag(site, name, "needs_browser", now, 0, f"{how}; none in run {past[0][0]}")]


def _empty(site: str, name: str, rec: dict, past: list[tuple[int, dict]]) -> list[Flag]:
    if "listed" not in rec or rec["listed"] or rec.get("stop") == "a listing page failed":
        return []
    before = next(((rid, r) for rid, r in past if "listed" in r), None)
    if before is None or not before[1]["listed"]:
        return []
    return [Flag(site, name, "empty_section", 0, 1,
                 f"the listing answered and listed no articles (run {before[0]} listed {before[1]['listed']})")]


def _missing(db: sqlite_utils.Database, run_id: int, site: str, name: str, th: Thresholds) -> list[Flag]:
    newly, live = db.execute(
        "SELECT count(*) FILTER (WHERE a.missing_run = ? AND a.missing_count = 1), "
        "count(*) FILTER (WHERE a.gone_at IS NULL AND coalesce(a.missing_count, 0) = 0) "
        "FROM sections s JOIN article_sections x ON x.section_id = s.id JOIN articles a ON a.url = x.article_url "
        "WHERE s.site = ? AND s.name = ?", [run_id, site, name]).fetchone()
    base = newly + live
    if base < th.min_articles or not newly or newly / base <= th.missing_share:
        return []
    return [Flag(site, name, "articles_missing", round(newly / base, 3), th.missing_share,
                 f"{newly} of {base} archived articles found missing (404/410 or redirected to an index page)")]


def _fill(site: str, name: str, rec: dict, past: list[tuple[int, dict]], th: Thresholds) -> list[Flag]:
    n = int(rec.get("fill_articles") or 0)
    # The section's most recent runs that archived articles, back until they add up to min_fill:
    # a drop is flagged once (the next run compares with the run that dropped), not run after run.
    hist, hn = [], 0
    for _, r in past:
        if hn >= th.min_fill:
            break
        if r.get("fill_articles"):
            hist.append(r)
            hn += int(r["fill_articles"])
    if n < th.min_fill or hn < th.min_fill:
        return []
    out = []
    for field in ("date", "source"):
        now = int(rec.get(f"fill_{field}") or 0) / n
        before = sum(int(r.get(f"fill_{field}") or 0) for r in hist) / hn
        if before - now > th.fill_drop:
            out.append(Flag(site, name, "fill_drop", round(now, 3), round(before - th.fill_drop, 3),
                            f"{field}: {now:.0%} of this run's {n} articles (was {before:.0%} of {hn} "
                            f"over {len(hist)} runs)"))
    now = int(rec.get("fill_body_chars") or 0) / n
    before = sum(int(r.get("fill_body_chars") or 0) for r in hist) / hn
    if before and now < before * (1 - th.fill_drop):
        out.append(Flag(site, name, "fill_drop", round(now), round(before * (1 - th.fill_drop)),
                        f"body length: {now:.0f} characters on average over {n} articles (was {before:.0f})"))
    return out


def check_run(db: sqlite_utils.Database, run_id: int, th: Thresholds | None = None) -> list[Flag]:
    """Run every check on a finished run against its site's history; write and return the flags."""
    th = th or Thresholds()
    row = db.execute("SELECT site, sections FROM crawl_runs WHERE id = ?", [run_id]).fetchone()
    if row is None:
        return []
    site, current = row[0], _records(row[1])
    history = [(rid, _records(s)) for rid, s in db.execute(
        "SELECT id, sections FROM crawl_runs WHERE site = ? AND id < ? AND status IN ('ok', 'partial') "
        "ORDER BY id DESC LIMIT ?", [site, run_id, 10 * th.history])]
    flags: list[Flag] = []
    for name, rec in current.items():
        past = [(rid, h[name]) for rid, h in history if name in h][:th.history]
        browser = _needs_browser(site, name, rec, past)
        flags += browser
        if not browser:  # a listing that became a script shell lists nothing: needs_browser says why
            flags += _empty(site, name, rec, past)
        flags += _missing(db, run_id, site, name, th)
        flags += _fill(site, name, rec, past, th)
    for f in flags:
        f.run_id = run_id
    save(db, flags)
    return flags


def save(db: sqlite_utils.Database, flags: list[Flag]) -> None:
    ensure_schema(db)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    with db.atomic():
        for f in flags:
            db["crawl_health"].insert({**f.as_dict(), "at": now})


# -- discovery (govnews discover --check) ----------------------------------------------------------------
def record_discovery(db_path: str | Path, site: str, added: list[dict] = (), vanished: list[dict] = (),
                     renamed: list[dict] = ()) -> list[dict]:
    """What `govnews discover --check` found for a site, as flags in its archive's crawl_health (tied
    to the site's newest run, if any): added/vanished [{"name", "url"}], renamed [{"from", "to", "url"}]."""
    flags = [Flag(site, s.get("name"), "section_added", None, None, f"a new section at {s.get('url')}") for s in added]
    flags += [Flag(site, s.get("name"), "section_vanished", None, None,
                   f"no longer found on the site (was {s.get('url')})") for s in vanished]
    flags += [Flag(site, s.get("from"), "section_renamed", None, None,
                   f"now named {s.get('to')!r} ({s.get('url')})") for s in renamed]
    conn = sqlite3.connect(str(db_path), timeout=30, isolation_level=None)
    try:
        db = sqlite_utils.Database(conn)
        ensure_schema(db)
        last = db.execute("SELECT max(id) FROM crawl_runs WHERE site = ?", [site]).fetchone() \
            if "crawl_runs" in db.table_names() else None
        for f in flags:
            f.run_id = last[0] if last else None
        save(db, flags)
    finally:
        conn.close()
    return [f.as_dict() for f in flags]


def flag_line(flags: list[dict]) -> str:
    """The flags of a run, short, for its summary line: flag:section,…"""
    return ",".join(f"{f['flag']}:{f.get('section') or '-'}" for f in flags)
