"""Replay of the archive's captures through pywb, the standard replay engine (we write no replay server).

pywb lives in its own virtualenv (`.venv-replay`, made by `make install`): it pins redis 2.10 and
fakeredis 0.16, which cannot share a venv with the crawler's scrapy-redis. `govnews replay` prepares a
pywb collection beside the archive — `<db stem>-replay/collections/archive/` with `archive/` pointing at
the WARC directory and `indexes/index.cdxj` built from every WARC file (cdxj-indexer), so the index is
current whenever replay starts; pywb's auto-indexing adds files a crawl writes while it runs — and
starts pywb's `wayback` on its own port: replayed pages never run in Datasette's origin.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

from archive.store import data_dir
from archive.warc import warc_files

COLLECTION = "archive"
REPO = Path(__file__).resolve().parents[1]


class ReplayUnavailable(RuntimeError):
    """pywb's `wayback` is not installed where we look for it."""


def wayback_executable() -> str:
    """GOVNEWS_WAYBACK, else the checkout's .venv-replay, else `wayback` on PATH."""
    candidates = [os.environ.get("GOVNEWS_WAYBACK"), str(REPO / ".venv-replay" / "bin" / "wayback"),
                  shutil.which("wayback")]
    for exe in candidates:
        if exe and Path(exe).is_file() and os.access(exe, os.X_OK):
            return exe
    raise ReplayUnavailable("pywb is not installed: run `make install` (it makes .venv-replay) "
                            "or set GOVNEWS_WAYBACK to pywb's `wayback` program")


def prepare_collection(db: str | os.PathLike, warc_dir: str | os.PathLike | None = None) -> Path:
    """The pywb root for the archive at `db`, its index rebuilt from every WARC file; returns the root."""
    from cdxj_indexer.main import write_cdx_index

    warc_dir = Path(warc_dir) if warc_dir else data_dir(db, "warc")
    root = data_dir(db, "replay")
    coll = root / "collections" / COLLECTION
    (coll / "indexes").mkdir(parents=True, exist_ok=True)
    link = coll / "archive"
    if link.is_symlink() or link.exists():
        if not (link.is_symlink() and link.resolve() == warc_dir.resolve()):
            if link.is_symlink():
                link.unlink()
            else:
                shutil.rmtree(link)
    if not link.exists():
        link.symlink_to(warc_dir.resolve(), target_is_directory=True)
    files = [str(p) for p in warc_files(warc_dir)]
    index = coll / "indexes" / "index.cdxj"
    if files:
        tmp = index.with_suffix(".tmp")
        write_cdx_index(str(tmp), files, {"sort": True, "post_append": True})
        tmp.replace(index)
    return root


def wayback_argv(root: Path, host: str, port: int) -> list[str]:
    # -a: pywb indexes WARC files that appear in the collection while it runs (a crawl in progress)
    return [wayback_executable(), "-d", str(root), "-b", host, "-p", str(port), "-a", "--auto-interval", "30"]


def timestamp(warc_date: str) -> str:
    """A WARC-Date (2024-01-02T03:04:05Z) as a 14-digit replay timestamp."""
    digits = "".join(c for c in warc_date if c.isdigit())
    return digits[:14].ljust(14, "0")


def replay_url(base: str, warc_date: str, url: str, raw: bool = False) -> str:
    """The replay of `url` as captured at `warc_date` (raw: the bytes as captured, no rewriting)."""
    return f"{base.rstrip('/')}/{COLLECTION}/{timestamp(warc_date)}{'id_' if raw else ''}/{quote(url, safe=':/?&=%#;,+@')}"
