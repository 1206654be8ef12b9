"""Coverage: per site and section, the section's own stated size against what the archive holds.

The numbers come from one query, kept as data in archive/metadata.json (`coverage`, also the
Datasette page /<db>/coverage), over the runs' per-section records (crawl_runs.sections): the stated
record and page counts each walk recorded (stated_items, stated_pages, walk) and what the archive held
for the section when the run finished (`held`, counted by holdings() below: reading run records keeps
the page fast on an archive of millions of articles). `govnews coverage --db archive.db [--site S] [--format table|json|csv]`
prints them.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import unicodedata
from importlib import resources
from pathlib import Path

COLUMNS = ("site", "section", "stated", "stated_pages", "archived", "listed", "gone", "unlisted", "not_archived",
           "coverage_pct", "stated_run", "counted_run", "last_complete_run", "last_complete_walk", "walk_status")
TABLE_COLUMNS = ("site", "section", "stated", "stated_pages", "archived", "listed", "gone", "not_archived",
                 "coverage_pct", "last_complete_walk")


class CoverageError(Exception):
    """The file is not an archive, or has no such site: the message says which."""


HELD_SQL = """SELECT s.name, count(a.url), count(a.url) FILTER (WHERE a.gone_at IS NULL AND x.unlisted_at IS NULL),
 count(a.gone_at), count(a.url) FILTER (WHERE a.gone_at IS NULL AND x.unlisted_at IS NOT NULL),
 count(x.article_url) - count(a.url)
 FROM sections s LEFT JOIN article_sections x ON x.section_id = s.id LEFT JOIN articles a ON a.url = x.article_url
 WHERE s.site = ? GROUP BY s.id"""
HELD_KEYS = ("archived", "listed", "gone", "unlisted", "not_archived")


def holdings(db: sqlite3.Connection | object, site: str) -> dict[str, dict[str, int]]:
    """What the archive holds for each section of a site, as the run's per-section record keeps it
    (`held`): archived, listed (not gone, still listed), gone, unlisted, not_archived (listed only).
    Counted when a run finishes, so that the coverage page reads run records, not every article."""
    return {name: dict(zip(HELD_KEYS, counts, strict=True)) for name, *counts in db.execute(HELD_SQL, [site])}


def coverage_sql() -> str:
    meta = json.loads(resources.files("archive").joinpath("metadata.json").read_text(encoding="utf-8"))
    return meta["databases"]["archive"]["queries"]["coverage"]["sql"]


def coverage(db: str | Path, site: str | None = None) -> list[dict]:
    """One dict per section (COLUMNS), every site or one; raises CoverageError on a bad file or site."""
    try:
        conn = sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise CoverageError(f"{db}: cannot open ({e})") from None
    try:
        conn.row_factory = sqlite3.Row
        try:
            if site and conn.execute("SELECT 1 FROM sites WHERE name = ?", [site]).fetchone() is None:
                known = ", ".join(r[0] for r in conn.execute("SELECT name FROM sites ORDER BY name")) or "none"
                raise CoverageError(f"{db}: no site {site!r} in this archive (sites: {known})")
            rows = conn.execute(coverage_sql(), {"site": site or ""}).fetchall()
        except sqlite3.DatabaseError as e:
            raise CoverageError(f"{db}: not a govnews archive ({e})") from None
        return [{k: r[k] for k in COLUMNS} for r in rows]
    finally:
        conn.close()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def as_table(rows: list[dict]) -> str:
    """Aligned columns for a terminal (wide characters count twice)."""
    cells = [list(TABLE_COLUMNS)] + [[_cell(r[k]) for k in TABLE_COLUMNS] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def as_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_json(rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=1)


FORMATS = {"table": as_table, "json": as_json, "csv": as_csv}
