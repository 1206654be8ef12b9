"""Many sites in one `govnews crawl` (issue 12): concurrent, polite per host, a slow site slowing no other.

Ten generated sites, each on its own loopback address (Scrapy's politeness is per host, ports ignored),
crawled in one run with politeness forced on (0.3 s between requests to a host, at most 2 at once). No
assertion on wall-clock time: the servers' own logs show the per-host delay and concurrency, and that
the sites were crawled side by side; a site held back shows the other nine finish while it waits.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from fixtures.server import FixtureServer
from fixtures.sites.generated import GeneratedSite
from tests.conftest import REPO, govnews
from tests.crawlkit import assert_polite_gaps

SITES = 10
DELAY = 0.3
POLITE = ["-s", f"DOWNLOAD_DELAY={DELAY}", "-s", "DOWNLOAD_DELAY_JITTER=0", "-s", f"AUTOTHROTTLE_START_DELAY={DELAY}",
          "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"]


def make_sites() -> list[GeneratedSite]:
    sites = []
    for i in range(SITES):
        site = GeneratedSite(articles=12, sections=2, page_kb=4)
        site.name = f"gen{i:02d}"
        sites.append(site)
    return sites


def write_tomls(tmp_path, sites, polite: bool = True) -> list[str]:
    paths = []
    for site in sites:
        path = tmp_path / f"{site.name}.toml"
        top = f'base_url = "{site.base_url}"\npolite = {str(polite).lower()}\n'  # before the [[sections]] tables
        path.write_text(top + site.gen.toml(site.name), encoding="utf-8")
        paths.append(str(path))
    return paths


def crawl_all(paths: list[str], db, *extra: str) -> subprocess.CompletedProcess:
    args = [a for p in paths for a in ("--site", p)]
    return govnews("crawl", *args, "--db", str(db), *extra, timeout=600)


def content(db) -> set:
    conn = sqlite3.connect(db)
    try:
        return {
            "articles": set(conn.execute("SELECT url, content_hash, site FROM articles")),
            "sections": set(conn.execute("SELECT a.article_url, s.site, s.name FROM article_sections a "
                                         "JOIN sections s ON s.id = a.section_id")),
            "versions": set(conn.execute("SELECT article_url, version, content_hash FROM article_versions")),
        }
    finally:
        conn.close()


@pytest.fixture
def ten_sites():
    sites = make_sites()
    with FixtureServer(sites, distinct_hosts=True) as server:
        yield server, sites


def test_ten_sites_at_once_polite_per_host_equal_to_ten_single_crawls(ten_sites, tmp_path):
    server, sites = ten_sites
    paths = write_tomls(tmp_path, sites)
    db = tmp_path / "all.db"
    done = crawl_all(paths, db, *POLITE)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == SITES + 1 and all(line.split(":")[0] == s.name for line, s in zip(lines, sites, strict=False))
    assert lines[-1].startswith(f"total: {SITES} sites (10 ok)")
    conn = sqlite3.connect(db)
    runs = conn.execute("SELECT site, status, batch FROM crawl_runs ORDER BY id").fetchall()
    conn.close()
    assert [r[0] for r in runs] == [s.name for s in sites] and {r[1] for r in runs} == {"ok"}
    assert len({r[2] for r in runs}) == 1  # one batch

    for site in sites:  # politeness held for every host, by its own server's log
        reqs = [r for r in site.requests]
        assert max(r.inflight for r in reqs) <= 2, site.name
        assert_polite_gaps([r.at for r in reqs], DELAY)
    # side by side, not one after another: every site had started before any had finished
    starts = [s.requests[0].at for s in sites]
    ends = [s.requests[-1].at for s in sites]
    assert max(starts) < min(ends)

    # the same archive as ten single-site crawls (each alone, at fixture speed)
    union: dict[str, set] = {"articles": set(), "sections": set(), "versions": set()}
    for site, path in zip(sites, paths, strict=True):
        one = tmp_path / f"{site.name}.db"
        single = govnews("crawl", "--site", path, "--db", str(one), "-s", "DOWNLOAD_DELAY=0",
                         "-s", "AUTOTHROTTLE_ENABLED=False", timeout=300)
        assert single.returncode == 0, single.stderr[-2000:]
        for k, v in content(one).items():
            union[k] |= v
    assert content(db) == union
    assert len(union["articles"]) == SITES * 12

    # incremental per site unchanged: a no-op re-run costs robots.txt + one listing page per section
    before = [len(s.requests) for s in sites]
    again = crawl_all(paths, db, *POLITE)
    assert again.returncode == 0, again.stderr[-3000:]
    for site, n in zip(sites, before, strict=True):
        paths_asked = [r.path for r in site.requests[n:]]
        assert sorted(paths_asked) == sorted(["/robots.txt", *site.gen.section_paths()]), (site.name, paths_asked)


def test_a_site_held_back_slows_no_other(ten_sites, tmp_path):
    server, sites = ten_sites
    slow = sites[3]
    release = threading.Event()

    def hold(req) -> None:
        release.wait(120)

    slow.handlers.insert(0, hold)
    paths = write_tomls(tmp_path, sites)
    db = tmp_path / "all.db"
    args = [a for p in paths for a in ("--site", p)]
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", *args, "--db", str(db), *POLITE],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The other nine finish (their crawl_runs rows are closed) while the slow one still waits.
        deadline = time.monotonic() + 240
        finished: list = []
        while time.monotonic() < deadline:
            if db.exists():
                conn = sqlite3.connect(db, timeout=30)
                try:
                    finished = conn.execute("SELECT site FROM crawl_runs WHERE finished IS NOT NULL").fetchall()
                except sqlite3.OperationalError:
                    finished = []
                finally:
                    conn.close()
            if len(finished) >= SITES - 1:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        assert sorted(f[0] for f in finished) == sorted(s.name for s in sites if s is not slow)
        assert not release.is_set() and proc.poll() is None  # and the slow one is still being crawled
    finally:
        release.set()
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert f"{slow.name}: ok" in out


def test_a_site_that_does_not_load_is_reported_and_the_others_crawl(ten_sites, tmp_path):
    server, sites = ten_sites
    paths = write_tomls(tmp_path, sites[:2], polite=False)
    bad = tmp_path / "broken.toml"
    bad.write_text("name = \"broken\"\nthis is not toml\n", encoding="utf-8")
    listing = tmp_path / "sites.txt"
    listing.write_text(f"# the sites of this test\n{paths[0]}\n{bad}\n{paths[1]}  # second\n", encoding="utf-8")
    done = govnews("crawl", "--sites", str(listing), "--db", str(tmp_path / "a.db"), timeout=300)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "broken.toml: invalid TOML" in done.stderr and "Traceback" not in done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["gen00", "gen01", "total"]
