"""Export articles to a file a journalist can open: CSV (UTF-8 with BOM, for Excel), JSON Lines or XLSX.

Reads the archive read-only and streams: memory stays flat whatever the number of rows.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import IO

from archive.safety import neutralise_formula

FORMATS = ("csv", "jsonl", "xlsx")
# Stored columns worth a reader's time, in reading order (the rest is crawl bookkeeping).
COLUMNS = ("url", "title", "published", "site", "sections", "source", "author", "issuer", "doc_no",
           "index_no", "written_date", "topic", "body", "attachments", "images", "breadcrumb",
           "fetched_at", "first_seen", "last_seen", "gone_at", "content_hash")
JSON_COLUMNS = ("sections", "images", "xxgk")
# Excel refuses cells longer than this.
XLSX_CELL_MAX = 32767


_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def check_date(value: str) -> str:
    """A --since/--until bound: YYYY-MM-DD (or YYYY-MM, YYYY) naming a real day; ValueError otherwise."""
    m = _DATE.match(value.strip())
    try:
        if not m:
            raise ValueError
        date(int(m[1]), int(m[2] or 1), int(m[3] or 1))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD, e.g. 2024-01-31)") from None
    return value.strip()


def _where(site: str | None, section: str | None, since: str | None, until: str | None) -> tuple[str, list]:
    clauses, params = [], []
    if site:
        clauses.append("a.site = ?")
        params.append(site)
    if section:
        clauses.append("EXISTS (SELECT 1 FROM article_sections x JOIN sections s ON s.id = x.section_id "
                       "WHERE x.article_url = a.url AND s.name = ?)")
        params.append(section)
    if since:
        clauses.append("a.published >= ?")
        params.append(since)
    if until:
        # until is a day (or a timestamp prefix): every time on that day is included.
        clauses.append("a.published < ? || '~'")
        params.append(until)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def connect_ro(db_path: str | Path) -> sqlite3.Connection:
    if not Path(db_path).exists():
        raise FileNotFoundError(f"no archive at {db_path}")
    conn = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def count_articles(db_path: str | Path, site: str | None = None, section: str | None = None,
                   since: str | None = None, until: str | None = None) -> int:
    conn = connect_ro(db_path)
    try:
        where, params = _where(site, section, since, until)
        return conn.execute(f"SELECT count(*) FROM articles a{where}", params).fetchone()[0]
    finally:
        conn.close()


def iter_articles(db_path: str | Path, site: str | None = None, section: str | None = None,
                  since: str | None = None, until: str | None = None) -> Iterator[dict]:
    """Matching articles, oldest first, each with its attachments as [{url, text}]."""
    conn = connect_ro(db_path)
    try:
        have = {r[1] for r in conn.execute("PRAGMA table_xinfo(articles)")}
        cols = [c for c in COLUMNS if c in have and c != "attachments"]
        where, params = _where(site, section, since, until)
        sql = (f"SELECT {', '.join('a.' + c for c in cols)}, "
               "(SELECT json_group_array(json_object('url', t.url, 'text', t.text)) FROM attachments t "
               f"WHERE t.article_url = a.url) AS attachments FROM articles a{where} ORDER BY a.published, a.url")
        for row in conn.execute(sql, params):
            yield {c: row[c] for c in COLUMNS if c in row.keys()}
    finally:
        conn.close()


def _flat(row: dict) -> dict:
    """Cells for a spreadsheet: lists as one item per line."""
    out = dict(row)
    atts = json.loads(row.get("attachments") or "[]")
    out["attachments"] = "\n".join(a["url"] for a in atts)
    if row.get("sections"):
        out["sections"] = "\n".join(json.loads(row["sections"]))
    if row.get("images"):
        out["images"] = "\n".join(i["url"] for i in json.loads(row["images"]))
    return out


def _structured(row: dict) -> dict:
    out = dict(row)
    out["attachments"] = json.loads(row.get("attachments") or "[]")
    for c in JSON_COLUMNS:
        if isinstance(out.get(c), str):
            try:
                out[c] = json.loads(out[c])
            except ValueError:
                pass
    return out


def export_articles(db_path: str | Path, out: str | Path | IO[bytes], fmt: str = "csv", *, site: str | None = None,
                    section: str | None = None, since: str | None = None, until: str | None = None,
                    progress: Callable[[int], None] | None = None, raw_formulas: bool = False) -> dict:
    """Write the matching articles to out (a path, or a binary stream for csv/jsonl).

    CSV cells that a spreadsheet would run as formulas get a leading apostrophe (archive.safety), unless
    raw_formulas; XLSX cells holding text are always text cells, never formulas.

    Returns {"rows": n, "truncated_cells": n}; progress(n) is called after every row.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    rows = iter_articles(db_path, site, section, since, until)
    stats = {"rows": 0, "truncated_cells": 0}
    if fmt == "xlsx":
        _write_xlsx(rows, out, stats, progress)
        return stats
    stream = open(out, "wb") if isinstance(out, str | Path) else out  # noqa: SIM115 - closed below
    try:
        if fmt == "csv":
            _write_csv(rows, stream, stats, progress, raw_formulas)
        else:
            for row in rows:
                stream.write(json.dumps(_structured(row), ensure_ascii=False).encode() + b"\n")
                stats["rows"] += 1
                if progress:
                    progress(1)
    finally:
        if stream is not out:
            stream.close()
        else:
            stream.flush()
    return stats


class _Utf8:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def write(self, s: str) -> None:
        self.stream.write(s.encode("utf-8"))


def _write_csv(rows: Iterator[dict], stream: IO[bytes], stats: dict, progress, raw_formulas: bool = False) -> None:
    # The BOM tells Excel the file is UTF-8; without it Excel shows Chinese as mojibake.
    stream.write("\ufeff".encode())
    writer = None
    for row in rows:
        flat = _flat(row)
        if not raw_formulas:
            flat = {k: neutralise_formula(v) for k, v in flat.items()}
        if writer is None:
            writer = csv.DictWriter(_Utf8(stream), fieldnames=list(flat))
            writer.writeheader()
        writer.writerow(flat)
        stats["rows"] += 1
        if progress:
            progress(1)
    if writer is None:  # no rows: still a valid CSV with its header
        csv.writer(_Utf8(stream)).writerow(COLUMNS)


def _write_xlsx(rows: Iterator[dict], out, stats: dict, progress) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("articles")
    header = None
    for row in rows:
        flat = _flat(row)
        if header is None:
            header = list(flat)
            _xlsx_header(ws, header)
        cells = []
        for v in flat.values():
            if isinstance(v, str):
                v = ILLEGAL_CHARACTERS_RE.sub("", v)
                if len(v) > XLSX_CELL_MAX:
                    # Excel's cell limit; the url column leads to the full text.
                    v = v[: XLSX_CELL_MAX - 20] + "…[truncated 已截断]"
                    stats["truncated_cells"] += 1
                v = WriteOnlyCell(ws, value=v)
                v.data_type = "s"  # archived text is a string cell, even "=HYPERLINK(...)": never a formula
            cells.append(v)
        ws.append(cells)
        stats["rows"] += 1
        if progress:
            progress(1)
    if header is None:
        _xlsx_header(ws, list(COLUMNS))
    wb.save(out)


# Column widths in characters (Excel counts a Chinese character as about two); the rest get DEFAULT_WIDTH.
XLSX_WIDTHS = {"url": 45, "title": 50, "published": 20, "site": 18, "sections": 16, "source": 18, "author": 14,
               "issuer": 24, "doc_no": 20, "index_no": 22, "written_date": 12, "topic": 14, "body": 80,
               "attachments": 45, "images": 40, "breadcrumb": 36, "fetched_at": 20, "first_seen": 20,
               "last_seen": 20, "gone_at": 20, "content_hash": 20}
DEFAULT_WIDTH = 16


def _xlsx_header(ws, header: list[str]) -> None:
    """Widths, a frozen first row and a bold header: set before the first row is written (write-only)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for i, name in enumerate(header, 1):
        ws.column_dimensions[get_column_letter(i)].width = XLSX_WIDTHS.get(name, DEFAULT_WIDTH)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for name in header:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
