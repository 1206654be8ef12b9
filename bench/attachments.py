"""Attachment text benchmark (issue 19): attachments/s per format and what the attachment index costs, in one run.

    .venv/bin/python bench/attachments.py [--repeat 5] [--paragraphs 30] [--index-docs 2000]
                                          [--index-chars 3000] [--json FILE]

Throughput: the fixture document builder (fixtures/documents.py) writes one file per format from the
same --paragraphs paragraphs of our own Chinese text (fixtures/sites/text.py): a text-layer PDF (CID
font), DOCX, a Word 97 DOC, the same bytes as WPS, XLS (one paragraph a row), XLSX, OFD, and a one-page
scan for OCR. Each file is extracted --repeat times as `govnews attachments extract` does it: in its own
bounded worker process (archive.attachments.bounded.run_worker: a fresh Python, the parser's imports,
the parse, antiword/Tesseract where those read the format). It prints the median wall time per file,
attachments/s (1 / that median, one file at a time: `--jobs 1`), the CPU time per file (the worker and
the programs it ran), and the parse alone in this process (archive.attachments.formats.extract, warmed
up), which is the worker's start-up subtracted.
The scan row needs Tesseract with chi_sim (skipped without it).

Index growth: --index-docs attachment texts of about --index-chars characters each (bench/search.py's
Zipfian vocabulary: needs jieba, in the bench extras: `.venv/bin/pip install -e '.[bench]'`) are
recorded into a fresh archive through archive.attachments.store.record, whose triggers keep the
attachment index (attachment_fts, bigrams) current. It prints the index's bytes (dbstat over the FTS5
shadow tables) per MB of UTF-8 text and per attachment, the attachment_text table's own bytes likewise,
and the rate of recording.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from archive.attachments import formats, store  # noqa: E402
from archive.attachments import index as attachment_index  # noqa: E402
from archive.attachments.bounded import Limits, run_worker  # noqa: E402
from fixtures import documents  # noqa: E402
from fixtures.sites.text import ORGS, SENTENCES, TOPICS  # noqa: E402

# (label, format the extractor is given, builder kind, OCR)
FORMATS = [("PDF (text layer)", "pdf", "pdf", False), ("DOCX", "docx", "docx", False), ("DOC", "doc", "doc", False),
           ("WPS", "wps", "doc", False), ("XLS", "xls", "xls", False), ("XLSX", "xlsx", "xlsx", False),
           ("OFD", "ofd", "ofd", False), ("OCR scan (1 page)", "pdf", "scan", True)]


def paragraphs(n: int, seed: int = 19) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        topic, org = rnd.choice(TOPICS), rnd.choice(ORGS)
        out.append("".join(rnd.choice(SENTENCES).format(t=topic, o=org) for _ in range(rnd.randint(2, 4))))
    return out


def build(kind: str, paras: list[str]) -> bytes:
    title = paras[0][:30]
    if kind == "pdf":
        return documents.pdf(paras, title)
    if kind == "docx":
        return documents.docx(paras, title)
    if kind == "doc":
        return documents.doc(paras)
    if kind in ("xls", "xlsx"):
        rows = [["序号", "资金（万元）", "内容"]] + [[i, 100 * i, p] for i, p in enumerate(paras, 1)]
        return (documents.xls if kind == "xls" else documents.xlsx)(rows, "资金安排表")
    if kind == "ofd":
        return documents.ofd([paras[i:i + 12] for i in range(0, len(paras), 12)], title)
    if kind == "scan":  # one page: twelve lines short enough for the page at the scan's type size
        return documents.scan([p[:24] for p in paras[:12]])
    raise ValueError(kind)


def cpu_seconds() -> float:
    """User + system CPU of this process and of its reaped children (workers and the programs they ran)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def throughput(workdir: Path, n_paragraphs: int, repeat: int) -> list[dict]:
    from archive.attachments.cli import ocr_available

    paras = paragraphs(n_paragraphs)
    no_ocr = ocr_available("chi_sim")
    rows = []
    for label, fmt, kind, ocr in FORMATS:
        if ocr and no_ocr:
            rows.append({"format": label, "skipped": no_ocr})
            continue
        # named as archive.attachments.extract_one names it (a .wps is read as .doc)
        path = workdir / f"file-{fmt}-{kind}.{'doc' if fmt == 'wps' else fmt}"
        path.write_bytes(build(kind, paras))
        limits = Limits(ocr=ocr)
        walls, cpus, result = [], [], None
        for _ in range(repeat):
            start, cpu = time.monotonic(), cpu_seconds()
            result = run_worker(path, fmt, limits)
            walls.append(time.monotonic() - start)
            cpus.append(cpu_seconds() - cpu)
        if result is None or not formats.letters(result.text):
            raise SystemExit(f"bench/attachments.py: {label}: no text extracted ({result.errors if result else ''})")
        formats.extract(path, fmt, ocr)  # warm-up: imports, caches
        parses = []
        for _ in range(repeat):
            start = time.monotonic()
            formats.extract(path, fmt, ocr)
            parses.append(time.monotonic() - start)
        wall = statistics.median(walls)
        rows.append({"format": label, "method": result.method, "extractor": result.extractor,
                     "file_kb": path.stat().st_size / 1024, "pages": result.pages, "characters": len(result.text),
                     "worker_ms": 1000 * wall, "per_s": 1 / wall if wall else 0.0,
                     "worker_cpu_ms": 1000 * statistics.median(cpus),
                     "parse_ms": 1000 * statistics.median(parses)})
    return rows


def index_growth(workdir: Path, n: int, chars: int) -> dict:
    try:
        import jieba  # noqa: F401
    except ImportError:
        return {"skipped": "needs jieba (the bench extras: .venv/bin/pip install -e '.[bench]')"}
    from archive.store import Archive, utcnow
    from bench.search import Writer

    class SmallWriter(Writer):
        POOL = 1_000_000  # words to cut clauses from: plenty for a few thousand documents

    writer = SmallWriter(seed=19)
    db = workdir / "index.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    texts = [writer.body(3 * chars) for _ in range(n)]  # UTF-8: 3 bytes a Chinese character
    now = utcnow()
    with Archive(db) as archive:
        conn = archive.db.conn
        start = time.monotonic()
        for i, text in enumerate(texts):
            item = store.Pending(f"https://www.example.gov.cn/files/{i:06d}.pdf", "ok", f"{i:064x}",
                                 len(text.encode()), "application/pdf", None, None, 1)
            store.record(conn, item, formats.Extracted("pdf", text, "text-layer", 1, extractor="bench"), 0.0, now)
        seconds = time.monotonic() - start
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn = sqlite3.connect(db)
    try:
        def pages(pattern: str) -> int:
            return conn.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE ?", [pattern]).fetchone()[0]

        index = pages(f"{attachment_index.FTS}%")  # the FTS5 table and its shadow tables
        table = pages(f"%{store.TABLE}%")  # the table and its own indexes
        text_bytes, characters = conn.execute(
            f"SELECT sum(length(CAST(text AS BLOB))), sum(length(text)) FROM {store.TABLE}").fetchone()
    finally:
        conn.close()
    mb = text_bytes / 2**20
    return {"attachments": n, "characters": characters, "text_mb": mb, "index_bytes": index, "table_bytes": table,
            "index_kb_per_mb": index / 1024 / mb, "index_kb_per_attachment": index / 1024 / n,
            "index_ratio": index / text_bytes, "table_kb_per_mb": table / 1024 / mb,
            "records_per_s": n / seconds if seconds else 0.0}


def report(rows: list[dict], growth: dict, repeat: int, n_paragraphs: int) -> str:
    out = [f"Extraction, one bounded worker process per file (medians of {repeat}; {n_paragraphs} paragraphs of "
           "text, the scan one page):", "",
           "| format | method | extractor | file KB | pages | characters | ms per file (worker) | attachments/s "
           "| CPU ms per file | ms parse alone |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "skipped" in r:
            out.append(f"| {r['format']} | skipped: {r['skipped']} | | | | | | | | |")
            continue
        out.append(f"| {r['format']} | {r['method']} | {r['extractor']} | {r['file_kb']:.1f} | {r['pages'] or '-'} | "
                   f"{r['characters']:,} | {r['worker_ms']:.0f} | {r['per_s']:.1f} | {r['worker_cpu_ms']:.0f} | "
                   f"{r['parse_ms']:.0f} |")
    out.append("")
    if "skipped" in growth:
        out.append(f"Index growth: skipped ({growth['skipped']})")
    else:
        g = growth
        out += [f"Index growth: {g['attachments']:,} attachment texts, {g['characters']:,} characters "
                f"({g['text_mb']:.1f} MB of UTF-8), recorded at {g['records_per_s']:.0f} attachments/s:", "",
                "| what | per MB of text | per attachment | / text size |", "|---|---:|---:|---:|",
                f"| attachment index (attachment_fts, bigrams) | {g['index_kb_per_mb']:.0f} KB | "
                f"{g['index_kb_per_attachment']:.1f} KB | {g['index_ratio']:.2f}× |",
                f"| attachment_text (the text, its row, its indexes) | {g['table_kb_per_mb']:.0f} KB | "
                f"{g['table_bytes'] / 1024 / g['attachments']:.1f} KB | "
                f"{g['table_bytes'] / (g['text_mb'] * 2**20):.2f}× |"]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--paragraphs", type=int, default=30)
    ap.add_argument("--index-docs", type=int, default=2000)
    ap.add_argument("--index-chars", type=int, default=3000)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if not documents.have_font():
        raise SystemExit("bench/attachments.py: no CJK font for the PDF builder (Debian: fonts-wqy-microhei)")
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="govnews-bench-attachments-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # Tesseract in this process as in the worker: one thread
    rows = throughput(workdir, a.paragraphs, a.repeat)
    growth = index_growth(workdir, a.index_docs, a.index_chars)
    if a.json:
        a.json.write_text(json.dumps({"formats": rows, "index": growth}, indent=1, ensure_ascii=False))
    print(report(rows, growth, a.repeat, a.paragraphs))


if __name__ == "__main__":
    main()
