"""Crawl benchmark: our full crawl vs a bare Scrapy spider, on one generated site, in one run.

    .venv/bin/python bench/crawl.py [--articles 100000] [--sections 20] [--small 10000]
                                    [--concurrency 16] [--server-procs 2] [--repeat 1] [--markdown]

For each size (--small, then --articles) it serves a generated news centre (fixtures.sites.generated:
20-row listing pages, ~30 KB article pages rendered on request) from a separate pre-forked server
(fixtures.fastserver), then runs, one after another against that same server:
  (b) a bare Scrapy spider that requests exactly the URLs our crawl requests (robots.txt, every
      listing page, every article) and does nothing with the responses;
  (a) `govnews crawl` into a fresh archive: fetch, listing walk, extraction, SQLite (and WARC when
      the crawl writes WARC);
  (c) `govnews crawl` again over the unchanged site (the no-op re-crawl).
Same Scrapy settings for both (CONCURRENT_REQUESTS and _PER_DOMAIN = --concurrency, no delay,
robots.txt obeyed, asyncio reactor). It prints pages/s of each (responses / Scrapy's own
elapsed_time_seconds), the ratio a/b, peak RSS of each process (wait4 ru_maxrss), archive bytes
per article (SQLite file + WAL + WARC files) and the re-crawl's wall time against the full crawl's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PY = sys.executable


@dataclass
class Run:
    name: str
    responses: int  # downloader/response_count
    elapsed: float  # Scrapy's elapsed_time_seconds (spider open to close)
    wall: float  # process wall time, start-up included
    rss_mb: float  # peak resident set size of the crawling process
    exit: int

    @property
    def rate(self) -> float:
        return self.responses / self.elapsed if self.elapsed else 0.0


def _stat(stderr: str, key: str) -> float:
    m = re.search(rf"'{re.escape(key)}': ([\d.]+)", stderr)
    return float(m.group(1)) if m else 0.0


def _run(name: str, argv: list[str], env: dict | None = None, log: Path | None = None) -> Run:
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        err.seek(0)
        stderr = err.read()
    if log:
        log.write_text(stderr)
    return Run(name, int(_stat(stderr, "downloader/response_count")), _stat(stderr, "elapsed_time_seconds"),
               wall, usage.ru_maxrss / 1024, proc.returncode)


def scrapy_settings(concurrency: int) -> dict:
    """The settings both crawls share (ours gets them with -s on top of its fixture defaults)."""
    return {"CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "INFO",
            "CONCURRENT_ITEMS": int(os.environ.get("BENCH_CONCURRENT_ITEMS", "4"))}


# -- the bare spider (runs in its own process: `bench/crawl.py --bare BASE ARTICLES SECTIONS C`) ----
def bare_main(base: str, articles: int, sections: int, concurrency: int) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from crawler.settings import USER_AGENT
    from fixtures.sites.generated import Generated

    gen = Generated(articles, sections)
    root = base.rstrip("/")

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self):
            for path in gen.listing_paths():
                yield scrapy.Request(root + path, callback=self.parse)
            for path in gen.article_paths():
                yield scrapy.Request(root + path, callback=self.parse)

        def parse(self, response):
            return None

    process = CrawlerProcess({
        **scrapy_settings(concurrency), "ROBOTSTXT_OBEY": True, "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False, "USER_AGENT": USER_AGENT,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    })
    process.crawl(Bare)
    process.start()


# -- one size -------------------------------------------------------------------------------------
def start_server(articles: int, sections: int, procs: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([PY, "-m", "fixtures.fastserver", "--articles", str(articles), "--sections",
                             str(sections), "--procs", str(procs)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def archive_bytes(db: Path) -> int:
    total = sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())
    for warc in db.parent.rglob("*.warc*"):
        total += warc.stat().st_size
    return total


def measure(articles: int, sections: int, concurrency: int, server_procs: int, workdir: Path,
            repeat: int = 1, recrawl: bool = True) -> dict:
    """Run (b), (a) and (c) once per --repeat against one server; return the medians and the runs."""
    import sqlite3

    from fixtures.sites.generated import Generated

    gen = Generated(articles, sections)
    site_toml = workdir / "generated.toml"
    site_toml.write_text(gen.toml(), encoding="utf-8")
    expected = 1 + len(gen.listing_paths()) + articles  # robots.txt, listing pages, articles
    server, base = start_server(articles, sections, server_procs)
    sets = [x for k, v in scrapy_settings(concurrency).items() for x in ("-s", f"{k}={v}")]
    bare, ours, noop, per_article, counts, after = [], [], [], [], [], []
    try:
        for r in range(repeat):
            bare.append(_run("bare", [PY, str(Path(__file__).resolve()), "--bare", base, str(articles),
                                      str(sections), str(concurrency)], log=workdir / f"bare-{articles}-{r}.log"))
            db = workdir / f"run{r}" / "archive.db"
            if db.parent.exists():
                shutil.rmtree(db.parent)
            db.parent.mkdir(parents=True)
            crawl = [PY, "-m", "archive.cli", "crawl", "--site", str(site_toml), "--base-url", base, "--db", str(db), *sets]
            ours.append(_run("ours", crawl, log=workdir / f"ours-{articles}-{r}.log"))
            with sqlite3.connect(db) as conn:
                n = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            counts.append(n)
            per_article.append(archive_bytes(db) / max(1, n))
            if recrawl:
                noop.append(_run("noop", crawl, log=workdir / f"noop-{articles}-{r}.log"))
                with sqlite3.connect(db) as conn:
                    after.append(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
            shutil.rmtree(db.parent)
    finally:
        server.terminate()
        server.wait(timeout=30)

    def med(runs: list[Run], attr: str) -> float:
        return statistics.median(getattr(x, attr) for x in runs) if runs else 0.0

    out = {
        "articles": articles, "sections": sections, "concurrency": concurrency, "server_procs": server_procs,
        "expected_requests": expected, "archived": counts, "archived_after_noop": after,
        "bare_rate": med(bare, "rate"), "ours_rate": med(ours, "rate"),
        "bare_rss_mb": med(bare, "rss_mb"), "ours_rss_mb": med(ours, "rss_mb"),
        "bare_responses": [x.responses for x in bare], "ours_responses": [x.responses for x in ours],
        "ours_wall": med(ours, "wall"), "noop_wall": med(noop, "wall"), "noop_responses": [x.responses for x in noop],
        "bytes_per_article": statistics.median(per_article) if per_article else 0.0,
        "runs": [asdict(x) | {"rate": x.rate} for x in bare + ours + noop],
    }
    out["ratio"] = out["ours_rate"] / out["bare_rate"] if out["bare_rate"] else 0.0
    out["noop_fraction"] = out["noop_wall"] / out["ours_wall"] if out["ours_wall"] else 0.0
    return out


def table(results: list[dict]) -> str:
    head = ("| articles | bare Scrapy pages/s | our crawl pages/s | ratio a/b (≥0.6) | bare peak RSS | "
            "our peak RSS (≤400 MB) | archive bytes/article | no-op re-crawl (<1% of full) |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    rows = "".join(
        f"| {r['articles']:,} | {r['bare_rate']:.0f} | {r['ours_rate']:.0f} | {r['ratio']:.2f} | "
        f"{r['bare_rss_mb']:.0f} MB | {r['ours_rss_mb']:.0f} MB | {r['bytes_per_article'] / 1024:.1f} KB | "
        f"{r['noop_wall']:.1f} s of {r['ours_wall']:.0f} s ({100 * r['noop_fraction']:.1f}%) |\n" for r in results)
    return head + rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--sections", type=int, default=20)
    ap.add_argument("--small", type=int, default=10_000, help="also measure this size first (0: skip)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--server-procs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="runs per size; medians are reported")
    ap.add_argument("--no-recrawl", action="store_true")
    ap.add_argument("--workdir", type=Path, help="keep logs here (default: a temporary directory)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--bare", nargs=4, metavar=("BASE", "ARTICLES", "SECTIONS", "CONCURRENCY"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.bare:
        bare_main(a.bare[0], int(a.bare[1]), int(a.bare[2]), int(a.bare[3]))
        return
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="govnews-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = [s for s in (a.small, a.articles) if s]
    results = []
    for size in sizes:
        print(f"== {size:,} articles in {a.sections} sections (logs in {workdir})", file=sys.stderr, flush=True)
        results.append(measure(size, a.sections, a.concurrency, a.server_procs, workdir, a.repeat, not a.no_recrawl))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "runs"}, ensure_ascii=False), file=sys.stderr, flush=True)
    print(table(results))
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
