"""`govnews demo` (what `make demo` runs): serve the fixture sites, crawl them all into a fresh archive,
and serve it with Datasette and its archived copies with pywb beside it.

The fixture sites live in the source checkout (fixtures/), not in the installed package: everything
here that needs them gets them through crawler.cli._fixture_server(), which finds the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

DOCS = "fixture-docs"


def demo_sites() -> tuple[list, list[str]]:
    """What the demo crawls, and a line for each site left out (with what would bring it in).

    fixture-docs comes first: its attachments' text is extracted (OCR on for its sample scan) right
    after its crawl, before the other sites' attachments (stand-in bytes, not documents) arrive."""
    from crawler.browser import INSTALL_HINT, find_chromium
    from crawler.cli import _fixture_server

    _, all_sites = _fixture_server()
    from fixtures import documents
    from fixtures.server import browser_sites
    from fixtures.sites.docs import DocsSite

    sites, left_out = [], []
    if documents.have_font():
        sites.append(DocsSite())
    else:
        left_out.append(f"no CJK font: {DOCS} (attachments in every format) is left out "
                        f"(Debian: apt-get install fonts-wqy-microhei)")
    sites += all_sites()
    if find_chromium():
        sites += browser_sites()
    else:
        left_out.append(f"no Chromium: the sites that need a browser are left out ({INSTALL_HINT})")
    return sites, left_out


def crawl_argv(site: str, url: str, db: Path, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "crawler.cli", "crawl", "--site", site, "--base-url", url, "--db", str(db),
            "--log-level", "WARNING", *extra]
    if site == DOCS:  # its documents' text, searchable once the demo serves (OCR: without Tesseract, a line says so)
        argv += ["--extract-attachments", "--ocr"]
    return argv


def fresh(db: Path) -> None:
    """Fixture ports change from run to run, and so would every article URL: start from an empty archive."""
    from archive.store import data_dir

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    for what in ("warc", "logs", "replay"):  # its raw captures, run logs and replay index go with it
        shutil.rmtree(data_dir(db, what), ignore_errors=True)


def crawl_all(server, db: Path, echo: Callable[[str], None]) -> int:
    """Crawl every served site, then the ones that change between runs again; the worst exit code."""
    worst = 0
    for name, url in server.base_urls().items():
        echo(f"crawling {name} at {url}")
        worst = max(worst, subprocess.run(crawl_argv(name, url, db)).returncode)
    # The sites that change between runs (fixtures/sites/edits.py) are crawled again: edits, a
    # take-down (gone after two runs that miss it) and a new article, for the changes page and feeds.
    for site in server.sites.values():
        if hasattr(site, "second_edition"):
            site.second_edition()
            for _ in range(2):
                echo(f"crawling {site.name} again (its second edition) at {site.base_url}")
                worst = max(worst, subprocess.run(crawl_argv(site.name, site.base_url, db, "--refresh")).returncode)
    return worst


def serve_argv(db: Path, port: int, replay_port: int) -> tuple[list[str], str | None]:
    """The command that serves the demo: `govnews serve` with replay when pywb is installed (and
    replay_port is not 0), else Datasette alone; and, for the latter, why there is no replay."""
    from archive.serve import datasette_argv

    if replay_port:
        from archive.replay import ReplayUnavailable, wayback_executable

        try:
            wayback_executable()
        except ReplayUnavailable as e:
            return datasette_argv(db, "127.0.0.1", port), f"no replay: {e}"
        return [sys.executable, "-m", "crawler.cli", "serve", "--db", str(db), "--port", str(port),
                "--replay-port", str(replay_port)], None
    return datasette_argv(db, "127.0.0.1", port), None


def run(db: Path, port: int, replay_port: int, no_serve: bool, echo: Callable[[str], None]) -> int:
    """The whole demo; returns the exit code (the worst crawl's, or the server's)."""
    from archive.store import Archive
    from crawler.cli import _fixture_server

    FixtureServer, _ = _fixture_server()
    fresh(db)
    sites, left_out = demo_sites()
    for line in left_out:
        echo(line)
    with FixtureServer(sites) as server:
        worst = crawl_all(server, db, echo)
        with Archive(db) as archive:
            counts = archive.counts()
        echo(f"{db}: {counts['articles']} articles, {counts['attachments']} attachments, "
             f"{counts['crawl_runs']} crawl runs")
        if no_serve:
            return worst
        argv, why = serve_argv(db, port, replay_port)
        if why:
            echo(why)
        echo(f"Datasette: http://127.0.0.1:{port}/  (Ctrl-C stops)")
        try:
            return subprocess.run(argv).returncode
        except KeyboardInterrupt:
            return 0
