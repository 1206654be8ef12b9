"""Attachment text: PDF, Word, WPS, Excel and OFD files' text extracted after the crawl, versioned, searched.

Never in the crawl's hot path: the crawl downloads each file into its WARC (crawler/spiders/news.py)
and records its hash; `govnews attachments extract` (or `govnews crawl --extract-attachments`, after the
crawl has finished) reads the files back from the WARC and extracts each in its own worker process,
bounded in time and memory (archive/attachments/bounded.py). A file that fails gets its row with the
reason; nothing here can fail or slow a crawl.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from archive.attachments import store
from archive.attachments.bounded import Limits, run_worker
from archive.attachments.formats import Extracted, detect

MAX_BYTES = 100 * 1024 * 1024  # a larger file is not read back for extraction


def extract_one(item: store.Pending, db: Path, warc_dir: Path, limits: Limits, max_bytes: int = MAX_BYTES) -> Extracted:
    """Read one attachment's bytes from its WARC record and extract them in a bounded worker."""
    from archive.warc import read_payload

    if item.status != "ok":
        why = "over the crawl's --attachment-max-size" if item.status == "too_large" else item.status
        return Extracted(None, errors=[f"not downloaded: {why}"])
    if not item.warc_file or item.warc_offset is None:
        return Extracted(None, errors=["no raw capture: the crawl kept no WARC record of the file"])
    if item.size is not None and item.size > max_bytes:
        return Extracted(None, errors=[f"too_large: {item.size:,} bytes, over {max_bytes:,} (--max-bytes)"])
    try:
        body = read_payload(db, warc_dir, item.warc_file, item.warc_offset)
    except (OSError, ValueError) as e:
        return Extracted(None, errors=[f"the capture cannot be read: {e}"])
    with tempfile.TemporaryDirectory(prefix="govnews-attach-") as tmp:
        path = Path(tmp) / "file"
        path.write_bytes(body)
        del body
        fmt = detect(path.read_bytes()[:4096], path, item.url, item.mime)
        if fmt is None:
            return Extracted(None, errors=[f"unsupported format ({item.mime or 'unknown type'})"])
        # openpyxl goes by the file name's extension; antiword crashes on a .wps name (not on its bytes)
        named = path.rename(path.with_suffix(".doc" if fmt == "wps" else f".{fmt}"))
        return run_worker(named, fmt, limits)


def extract_pending(db: str | os.PathLike, limits: Limits | None = None, jobs: int = 1, retry_failed: bool = False,
                    warc_dir: str | os.PathLike | None = None, limit: int | None = None, max_bytes: int = MAX_BYTES,
                    progress: Callable[[store.Pending, str], None] | None = None) -> Counter:
    """Extract every attachment downloaded since the last extraction; returns the counts by status.

    Runs beside a crawl safely: reads the WARC files, writes only attachment_text (one short transaction
    per file, through archive.store.Archive)."""
    from archive.store import Archive, data_dir, utcnow

    db, limits = Path(db), limits or Limits()
    warc_dir = Path(warc_dir) if warc_dir else data_dir(db, "warc")
    counts: Counter = Counter()
    with Archive(db) as archive:
        conn = archive.db.conn
        items = store.pending(conn, retry_failed, limit)

        def work(item: store.Pending) -> tuple[store.Pending, Extracted, float]:
            start = time.monotonic()
            result = extract_one(item, db, warc_dir, limits, max_bytes)
            return item, result, time.monotonic() - start

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for item, result, seconds in pool.map(work, items):
                status = store.record(conn, item, result, seconds, utcnow())
                counts[status] += 1
                if progress:
                    progress(item, status)
    return counts
