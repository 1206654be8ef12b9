"""`govnews attachments extract|status`: the thin click layer over archive.attachments."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

SIZE_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(value: str) -> int:
    v = value.strip().upper().removesuffix("B")
    mult = SIZE_UNITS.get(v[-1:], 1)
    try:
        return int(float(v[:-1] if v[-1:] in SIZE_UNITS else v) * mult)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size (e.g. 512M, 1G)") from None


def ocr_available(lang: str) -> str | None:
    """None when OCR can run, else why not (one line)."""
    import subprocess

    for tool, package in (("tesseract", "tesseract-ocr"), ("pdftoppm", "poppler-utils")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: apt-get install {package})"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
    for code in lang.split("+"):
        if code not in langs:
            return f"Tesseract has no {code} data (Debian: apt-get install tesseract-ocr-{code.replace('_', '-')})"
    return None


@click.group()
def attachments() -> None:
    """Attachment text: extract it from the archived files, see how it went."""


@attachments.command("extract")
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--warc-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Where the WARC files are [default: <db stem>-warc/].")
@click.option("--ocr/--no-ocr", default=False, show_default=True,
              help="Read PDFs without a text layer (scans) with Tesseract.")
@click.option("--lang", default="chi_sim", show_default=True, help="Tesseract languages (chi_sim, chi_sim+eng).")
@click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds one file may take (then it is recorded as failed: timeout).")
@click.option("--max-memory", default="1G", show_default=True, help="Memory one file's extraction may use.")
@click.option("--max-bytes", default="100M", show_default=True, help="Larger files are not extracted.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1), help="Files extracted at once.")
@click.option("--retry-failed", is_flag=True, help="Also try again the files that failed before.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N files this time.")
def extract_cmd(db: Path, warc_dir: Path | None, ocr: bool, lang: str, timeout: float, max_memory: str,
                max_bytes: str, jobs: int, retry_failed: bool, limit: int | None) -> None:
    """Extract the text of every attachment downloaded since the last run (new files and changed ones).

    Each file is read back from its WARC record and extracted in its own process, bounded by --timeout
    and --max-memory; a file that fails is recorded with the reason (attachment_text.errors).

    \b
    Exit codes: 0 every file read (or nothing to do), 1 some files failed (see `govnews attachments
    status`), 2 usage error (e.g. --ocr without Tesseract).
    """
    from archive.attachments import extract_pending
    from archive.attachments.bounded import Limits

    if ocr and (why := ocr_available(lang)):
        click.echo(f"govnews attachments extract: --ocr: {why}", err=True)
        raise SystemExit(2)
    limits = Limits(timeout=timeout, max_memory=parse_size(max_memory), ocr=ocr, lang=lang)
    counts = extract_pending(db, limits, jobs=jobs, retry_failed=retry_failed, warc_dir=warc_dir, limit=limit,
                             max_bytes=parse_size(max_bytes))
    click.echo(extract_line(counts))
    raise SystemExit(1 if counts.get("failed") else 0)


def extract_line(counts) -> str:
    total = sum(counts.values())
    if not total:
        return "attachments: nothing new to extract"
    parts = ", ".join(f"{counts[k]} {k}" for k in ("ok", "empty", "failed") if counts.get(k))
    return f"attachments: {total} extracted ({parts})"


@attachments.command("status")
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def status_cmd(db: Path) -> None:
    """Per format: how many attachments have text, are empty (a scan without OCR) or failed, and why."""
    from archive.attachments import store
    from archive.export import connect_ro

    conn = connect_ro(db)
    if "attachment_text" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}:
        click.echo("no attachment text yet: run `govnews attachments extract`")
        return
    info = store.summary(conn)
    for fmt, statuses in sorted(info["formats"].items()):
        click.echo(f"{fmt:<6} " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))
    for url, errors in conn.execute("SELECT url, errors FROM attachment_text WHERE current = 1 AND status = 'failed' "
                                    "ORDER BY url LIMIT 20"):
        click.echo(f"  failed: {url}: {errors}")
    click.echo(f"{info['versions']} text versions")
