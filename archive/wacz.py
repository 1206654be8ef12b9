"""Package the archive's WARC captures as WACZ 1.1.1 (replayable in pywb / ReplayWeb.page).

archive/*.warc.gz (stored, not recompressed), indexes/index.cdx (CDXJ, via cdxj-indexer),
pages/pages.jsonl (one entry per archived article capture), datapackage.json (every file with its
sha256 and size) and datapackage-digest.json. A torn last record of a killed run is left out.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
import zipfile
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from archive.gather import describe, missing_files
from archive.store import data_dir
from archive.warc import good_prefix_length, scan_warc, warc_files

WACZ_VERSION = "1.1.1"


def _sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return "sha256:" + h.hexdigest(), size


def _select_files(conn: sqlite3.Connection, warc_dir: Path, run_id: int | None) -> list[Path]:
    files = warc_files(warc_dir)
    if run_id is None:
        return files
    names = {r[0] for r in conn.execute("SELECT DISTINCT warc_file FROM captures WHERE run_id = ?", [run_id])}
    names |= {p.name for p in files if f"-r{run_id:06d}-" in p.name}
    # Revisit records point back to earlier captures: ship the files holding those originals too.
    names |= {r[0] for r in conn.execute(
        "SELECT DISTINCT o.warc_file FROM captures c JOIN captures o ON o.record_id = c.revisit_of "
        "WHERE c.run_id = ?", [run_id])}
    return [p for p in files if p.name in names]


def _pages(conn: sqlite3.Connection, included: set[str], run_id: int | None) -> list[dict]:
    """One page per article capture in the package: every version's capture, newest fetch included."""
    sql = ("SELECT v.article_url, v.title, c.warc_date, v.warc_file FROM article_versions v "
           "JOIN captures c ON c.warc_file = v.warc_file AND c.warc_offset = v.warc_offset "
           + ("WHERE v.run_id = ? " if run_id is not None else "") + "ORDER BY v.id")
    pages, seen = [], set()
    for url, title, date, warc_file in conn.execute(sql, [run_id] if run_id is not None else []):
        if warc_file in included and (url, date) not in seen:
            seen.add((url, date))
            pages.append({"id": hashlib.sha1(f"{url} {date}".encode()).hexdigest()[:20], "url": url,
                          "ts": date, "title": title or url})
    return pages


def export_wacz(db: str | Path, out: str | Path, warc_dir: str | Path | None = None,
                run_id: int | None = None, title: str | None = None) -> dict:
    """Write a WACZ of the whole archive (or of one crawl run) to `out`; return what went in."""
    from cdxj_indexer.main import write_cdx_index

    db, out = Path(db), Path(out)
    warc_dir = Path(warc_dir) if warc_dir else data_dir(db, "warc")
    missing = missing_files(db, {p.name for p in warc_files(warc_dir)}, run_id)
    if missing:  # a distributed crawl's workers wrote them elsewhere
        raise ValueError("\n".join(describe(missing, warc_dir.resolve())))
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        files = _select_files(conn, warc_dir, run_id)
        if not files:
            raise ValueError(f"no WARC files in {warc_dir}" + (f" for run {run_id}" if run_id else ""))
        pages = _pages(conn, {p.name for p in files}, run_id)
    finally:
        conn.close()
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    skipped = {}
    with tempfile.TemporaryDirectory() as tmp:
        staged = []
        for p in files:
            report = scan_warc(p)
            keep = good_prefix_length(report)
            if report.torn_at is not None:
                skipped[p.name] = report.torn_bytes
            dest = Path(tmp) / p.name
            with open(p, "rb") as src, open(dest, "wb") as dst:
                remaining = keep
                while remaining and (chunk := src.read(min(1 << 20, remaining))):
                    dst.write(chunk)
                    remaining -= len(chunk)
            staged.append(dest)
        index = Path(tmp) / "index.cdx"
        write_cdx_index(str(index), [str(p) for p in staged], {"sort": True, "post_append": True})
        pages_file = Path(tmp) / "pages.jsonl"
        with open(pages_file, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "Archived articles"}) + "\n")
            for page in pages:
                fh.write(json.dumps(page, ensure_ascii=False) + "\n")
        entries = [(f"archive/{p.name}", p, zipfile.ZIP_STORED) for p in staged]
        entries += [("indexes/index.cdx", index, zipfile.ZIP_DEFLATED),
                    ("pages/pages.jsonl", pages_file, zipfile.ZIP_DEFLATED)]
        resources = []
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w") as z:
            for arcname, path, compression in entries:
                z.write(path, arcname, compress_type=compression)
                digest, size = _sha256_file(path)
                resources.append({"name": Path(arcname).name.lower(), "path": arcname, "hash": digest, "bytes": size})
            package = {
                "profile": "data-package", "wacz_version": WACZ_VERSION, "created": created,
                "title": title or f"govnews-archive: {db.name}" + (f" run {run_id}" if run_id else ""),
                "software": f"govnews-archive {version('govnews-archive')}", "resources": resources,
            }
            if pages:
                package["mainPageURL"], package["mainPageDate"] = pages[0]["url"], pages[0]["ts"]
            data = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
            z.writestr(zipfile.ZipInfo("datapackage.json", _zip_time()), data, compress_type=zipfile.ZIP_DEFLATED)
            digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(data).hexdigest()}
            z.writestr(zipfile.ZipInfo("datapackage-digest.json", _zip_time()), json.dumps(digest, indent=2),
                       compress_type=zipfile.ZIP_DEFLATED)
    return {"path": str(out), "warc_files": [p.name for p in files], "pages": len(pages), "skipped_torn": skipped}


def _zip_time() -> tuple[int, int, int, int, int, int]:
    return datetime.now(timezone.utc).timetuple()[:6]
