"""Helpers for the cron/incremental/WARC tests: run crawls, classify the fixture's request log, edit sites."""

from __future__ import annotations

import re
import sqlite3
import statistics
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from fixtures.server import FixtureSite
from fixtures.sites.text import make_articles
from tests.conftest import REPO, govnews

TRS_ARTICLE = re.compile(r"/\d{6}/t\d{8}_\d+\.html$")


def crawl(server, name: str, db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    site = server.sites[name]
    return govnews("crawl", "--site", name, "--base-url", site.base_url, "--db", str(db), *args, check=check)


def start_crawl(server, name: str, db: Path, *args: str) -> subprocess.Popen:
    site = server.sites[name]
    return subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", "--site", name, "--base-url", site.base_url,
                             "--db", str(db), *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def kind_of(path: str) -> str:
    p = path.split("?")[0]
    if p == "/robots.txt":
        return "robots"
    if p.startswith("/ns_class/") or re.search(r"/index(_\d+)?\.html$|/$", p):
        return "listing"
    if p.startswith("/ns_news/") or TRS_ARTICLE.search(p):
        return "article"
    if p.startswith("/uploadfile/") or re.search(r"/[PW]0[^/]+$", p):
        return "attachment"
    return "other"


def request_counts(site: FixtureSite) -> Counter[str]:
    return Counter(kind_of(r.path) for r in site.requests)


def q(db: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def add_changzhou_articles(site, code: str, k: int, seed: int = 900) -> list[str]:
    """k new articles (no attachments) at the top of a changzhou section; returns their URLs."""
    from fixtures.sites.changzhou import SECTIONS

    sname = dict((c, n) for c, n, _ in SECTIONS)[code]
    new = make_articles(seed=seed, count=k, start=date(2025, 3, 1), id_prefix="9", id_digits=15)
    for a in new:
        a.attachments, a.images = [], []
        a.sections.append(sname)
        site.articles[a.id] = a
    site.sections[code] = new + site.sections[code]
    site.render()
    return [f"{site.base_url}ns_news/{a.id}" for a in new]


def add_trs_articles(site, path: str, k: int, seed: int = 901) -> list[str]:
    from fixtures.sites.trs import SECTIONS, article_path

    sname = dict((p, n) for p, n, _ in SECTIONS)[path]
    new = make_articles(seed=seed, count=k, start=date(2025, 3, 1), id_prefix="8", id_digits=7)
    for a in new:
        a.attachments, a.images = [], []
        a.sections.append(sname)
        site.articles[a.id] = (path, a)
    site.sections[path] = new + site.sections[path]
    site.render()
    return [site.base_url.rstrip("/") + article_path(path, a) for a in new]


def changzhou_url(site, article_id: str) -> str:
    return f"{site.base_url}ns_news/{article_id}"


def assert_polite_gaps(times: list[float], delay: float) -> None:
    """Requests to one host, by their arrival times at its server, were spaced by the download delay.

    Scrapy randomizes the delay to 0.5-1.5x. A request that a busy client sends late shortens the gap after
    it and lengthens the one before by as much, so one gap is held loosely (a loaded machine has measured
    0.112 s against a 0.15 s floor) and every two consecutive gaps together against twice that floor.
    """
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    spans = [c - a for a, c in zip(times, times[2:], strict=False)]
    assert statistics.median(gaps) >= delay * 0.9, sorted(gaps)[:5]
    assert min(spans) >= delay * 0.8, sorted(spans)[:5]
    assert min(gaps) >= delay * 0.25, sorted(gaps)[:5]
