"""Crawl benchmark: our full crawl vs a bare Scrapy spider, a raw fetch and a peer pipeline, in one run.

    .venv/bin/python bench/crawl.py [--articles 100000] [--sections 20] [--small 10000]
                                    [--concurrency 16] [--server-procs 2] [--repeat 1] [--markdown]

For each size (--small, then --articles) it serves a generated news centre (fixtures.sites.generated:
20-row listing pages, ~30 KB article pages rendered on request) from a separate pre-forked server
(fixtures.fastserver, one write per response), then runs, one after another against that same server:
  (r) a raw asyncio HTTP/1.1 keep-alive fetch of the same URLs (the physical limit of this machine);
  (p) the peer a user would otherwise write: Scrapy + trafilatura extraction + a sqlite-utils insert per
      article (no WARC, no search index; needs the `bench` extras, skipped without them);
  (b) a bare Scrapy spider that requests exactly the URLs our crawl requests (robots.txt, every
      listing page, every article) and does nothing with the responses;
  (a) `govnews crawl` into a fresh archive: fetch, listing walk, extraction, SQLite (and WARC when
      the crawl writes WARC);
  (c) `govnews crawl` again over the unchanged site (the no-op re-crawl).
Same Scrapy settings for both (CONCURRENT_REQUESTS and _PER_DOMAIN = --concurrency, no delay,
robots.txt obeyed, asyncio reactor). It prints pages/s of each (responses / Scrapy's own
elapsed_time_seconds), the ratios a/b and a/p (per round, side by side, then their median), CPU ms
per page over the whole process tree (user + system from wait4, extraction workers included) and of
the crawling process alone (/proc, sampled every 0.2 s), peak RSS of the process tree, archive bytes
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
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PY = sys.executable
CLI = "crawler.cli"  # the govnews command's module


def peer_available() -> bool:
    try:
        import sqlite_utils  # noqa: F401
        import trafilatura  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Run:
    name: str
    responses: int  # downloader/response_count
    elapsed: float  # Scrapy's elapsed_time_seconds (spider open to close)
    wall: float  # process wall time, start-up included
    rss_mb: float  # peak resident set size: the crawling process (wait4), or its whole tree if larger
    exit: int
    cpu: float = 0.0  # user + system seconds of the whole process tree (wait4 includes reaped children)
    main_cpu: float = 0.0  # user + system seconds of the crawling process alone (its last /proc sample)

    @property
    def rate(self) -> float:
        return self.responses / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_ms(self) -> float:
        """CPU milliseconds per response, start-up included (all processes of the run)."""
        return 1000 * self.cpu / self.responses if self.responses else 0.0

    @property
    def main_ms(self) -> float:
        """CPU milliseconds per response of the crawling process alone (the rest: its extraction workers)."""
        return 1000 * min(self.main_cpu or self.cpu, self.cpu) / self.responses if self.responses else 0.0


def _stat(stderr: str, key: str) -> float:
    m = re.search(rf"'{re.escape(key)}': ([\d.]+)", stderr)
    return float(m.group(1)) if m else 0.0


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (extraction workers included), from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def _own_cpu(pid: int) -> float:
    """User + system seconds of one process so far, from /proc (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _run(name: str, argv: list[str], env: dict | None = None, log: Path | None = None, cwd: Path = REPO) -> Run:
    start = time.monotonic()
    peak, own = [0], [0.0]
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        stop = threading.Event()

        def sample() -> None:  # the process tree's RSS, twice a second (wait4 sees only the process)
            while not stop.wait(0.2):
                peak[0] = max(peak[0], _tree_rss(proc.pid))
                own[0] = max(own[0], _own_cpu(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        stop.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        err.seek(0)
        stderr = err.read()
    if log:
        log.write_text(stderr)
    return Run(name, int(_stat(stderr, "downloader/response_count")), _stat(stderr, "elapsed_time_seconds"),
               wall, max(usage.ru_maxrss * 1024, peak[0]) / 2**20, proc.returncode,
               usage.ru_utime + usage.ru_stime, own[0])


def scrapy_settings(concurrency: int) -> dict:
    """The settings both crawls share (ours gets them with -s on top of its fixture defaults)."""
    return {"CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "INFO",
            # Ours fetches what the bare spider does: no page resources (their cost: bench/resources.py).
            "GOVNEWS_PAGE_RESOURCES": False,
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


# -- the physical limit (`--raw BASE ARTICLES SECTIONS C`): keep-alive HTTP/1.1 on asyncio, nothing else --
def raw_main(base: str, articles: int, sections: int, concurrency: int) -> None:
    import asyncio
    from urllib.parse import urlsplit

    from fixtures.sites.generated import Generated

    gen = Generated(articles, sections)
    host, port = urlsplit(base).hostname, urlsplit(base).port
    paths = ["/robots.txt", *gen.listing_paths(), *gen.article_paths()]
    done = [0]

    async def worker(todo: list[str]) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while todo:
            path = todo.pop()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
            await reader.readexactly(length)
            done[0] += 1
        writer.close()

    async def main() -> float:
        todo = list(reversed(paths))
        start = time.monotonic()
        await asyncio.gather(*(worker(todo) for _ in range(concurrency)))
        return time.monotonic() - start

    elapsed = asyncio.run(main())
    # the two stats lines _run() reads, in Scrapy's own format
    print(f"'downloader/response_count': {done[0]},\n'elapsed_time_seconds': {elapsed},", file=sys.stderr)


# -- the peer a user would write (`--peer BASE ARTICLES SECTIONS C DB`): Scrapy + trafilatura + sqlite-utils --
def peer_main(base: str, articles: int, sections: int, concurrency: int, db_path: str) -> None:
    import scrapy
    import sqlite_utils
    import trafilatura
    from scrapy.crawler import CrawlerProcess

    from crawler.settings import USER_AGENT
    from fixtures.sites.generated import Generated

    gen = Generated(articles, sections)
    root = base.rstrip("/")
    db = sqlite_utils.Database(db_path)

    class Peer(scrapy.Spider):
        name = "peer"

        async def start(self):
            for path in gen.listing_paths():
                yield scrapy.Request(root + path, callback=self.parse_listing)
            for path in gen.article_paths():
                yield scrapy.Request(root + path, callback=self.parse_article)

        def parse_listing(self, response):
            return None  # the same URLs as ours are requested up front, as for the bare spider

        def parse_article(self, response):
            doc = trafilatura.bare_extraction(response.text, url=response.url, with_metadata=True)
            doc = doc.as_dict() if hasattr(doc, "as_dict") else (doc or {})
            db["articles"].insert({"url": response.url, "title": doc.get("title"), "date": doc.get("date"),
                                   "body": doc.get("text")}, pk="url", replace=True, alter=True)

    process = CrawlerProcess({
        **scrapy_settings(concurrency), "ROBOTSTXT_OBEY": True, "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False, "USER_AGENT": USER_AGENT,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    })
    process.crawl(Peer)
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
            repeat: int = 1, recrawl: bool = True, variants: list[dict] | None = None, peer: bool = True) -> dict:
    """For one size: (b) the bare spider, then for each variant of our settings (a) a full crawl into a
    fresh archive, and (c) with the first variant a no-op re-crawl; `repeat` rounds, interleaved,
    against one server.
    Returns medians: {"bare": {...}, "ours": [{...} per variant]} plus the raw runs."""
    import sqlite3

    from fixtures.sites.generated import Generated

    variants = variants or [{}]
    gen = Generated(articles, sections)
    site_toml = workdir / "generated.toml"
    site_toml.write_text(gen.toml(), encoding="utf-8")
    expected = 1 + len(gen.listing_paths()) + articles  # robots.txt, listing pages, articles
    server, base = start_server(articles, sections, server_procs)
    bare: list[Run] = []
    raw: list[Run] = []
    with_peer, peer = peer and peer_available(), []
    ours: list[dict] = [{"full": [], "noop": [], "archived": [], "after": [], "per_article": []} for _ in variants]
    try:
        for r in range(repeat):
            me, shape = str(Path(__file__).resolve()), [base, str(articles), str(sections), str(concurrency)]
            raw.append(_run("raw", [PY, me, "--raw", *shape], log=workdir / f"raw-{articles}-{r}.log"))
            bare.append(_run("bare", [PY, me, "--bare", *shape], log=workdir / f"bare-{articles}-{r}.log"))
            if with_peer:
                peer_db = workdir / f"peer-{articles}-{r}.db"
                peer_db.unlink(missing_ok=True)
                peer.append(_run("peer", [PY, me, "--peer", *shape, str(peer_db)], log=workdir / f"peer-{articles}-{r}.log"))
                peer_db.unlink(missing_ok=True)
            for v, (settings, acc) in enumerate(zip(variants, ours, strict=True)):
                # BENCH_REPO=<checkout>: our crawl as another checkout has it (before/after, same interpreter)
                repo = Path(settings.get("BENCH_REPO") or REPO)
                sets = [x for k, val in {**scrapy_settings(concurrency), **settings}.items() if k != "BENCH_REPO"
                        for x in ("-s", f"{k}={val}")]
                db = workdir / f"run-{articles}-{v}-{r}" / "archive.db"
                if db.parent.exists():
                    shutil.rmtree(db.parent)
                db.parent.mkdir(parents=True)
                crawl = [PY, "-m", CLI, "crawl", "--site", str(site_toml), "--base-url", base,
                         "--db", str(db), "--log-level", "INFO", *sets]  # stats are read from stderr
                acc["full"].append(_run("ours", crawl, log=workdir / f"ours-{articles}-{v}-{r}.log", cwd=repo))
                with sqlite3.connect(db) as conn:
                    n = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
                acc["archived"].append(n)
                acc["per_article"].append(archive_bytes(db) / max(1, n))
                if recrawl and v == 0:  # the no-op re-crawl, with the first variant (our defaults)
                    acc["noop"].append(_run("noop", crawl, log=workdir / f"noop-{articles}-{v}-{r}.log", cwd=repo))
                    with sqlite3.connect(db) as conn:
                        acc["after"].append(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
                shutil.rmtree(db.parent)
    finally:
        server.terminate()
        server.wait(timeout=30)

    out = {"articles": articles, "sections": sections, "concurrency": concurrency, "server_procs": server_procs,
           "expected_requests": expected, "repeat": repeat, "bare": summarize(bare), "raw": summarize(raw),
           "peer": summarize(peer) if peer else None, "ours": [],
           "runs": [asdict(x) | {"rate": x.rate, "cpu_ms": x.cpu_ms, "main_ms": x.main_ms} for x in raw + bare + peer]}
    for settings, acc in zip(variants, ours, strict=True):
        full = acc["full"]
        o = {"settings": settings, **summarize(full), "archived": acc["archived"],
             "archived_after_noop": acc["after"], "wall": statistics.median(x.wall for x in full),
             "noop_wall": statistics.median(x.wall for x in acc["noop"]) if acc["noop"] else 0.0,
             "noop_responses": [x.responses for x in acc["noop"]],
             "bytes_per_article": statistics.median(acc["per_article"])}
        # Ratios round by round (each round runs everything against the same server, one after another),
        # then their median: side by side, not a median of one over a median of the other.
        o["ratio"] = ratio(full, bare, "rate")
        o["cpu_ratio"] = ratio(full, bare, "cpu_ms")
        o["vs_peer"] = ratio(full, peer, "rate")
        o["cpu_vs_peer"] = ratio(full, peer, "cpu_ms")
        o["noop_fraction"] = o["noop_wall"] / o["wall"] if o["wall"] else 0.0
        out["ours"].append(o)
        out["runs"] += [asdict(x) | {"rate": x.rate, "cpu_ms": x.cpu_ms, "main_ms": x.main_ms, "settings": settings}
                        for x in acc["full"] + acc["noop"]]
    return out


def summarize(runs: list[Run]) -> dict:
    """Medians of one crawler's rounds."""
    def med(attr: str) -> float:
        return statistics.median(getattr(x, attr) for x in runs) if runs else 0.0

    return {"rate": med("rate"), "rss_mb": med("rss_mb"), "cpu_ms": med("cpu_ms"), "main_ms": med("main_ms"),
            "responses": [x.responses for x in runs]}


def ratio(ours: list[Run], other: list[Run], attr: str) -> float:
    """Median over the rounds of ours / other, each round's pair measured side by side."""
    pairs = [getattr(a, attr) / getattr(b, attr) for a, b in zip(ours, other, strict=False) if getattr(b, attr)]
    return statistics.median(pairs) if pairs else 0.0


def _label(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "defaults"


def _row(r: dict, name: str, m: dict, rel: str = "–", cpu: str = "–", extra: str = "– | –") -> str:
    if rel == "–" and r["bare"]["rate"] and m is not r["bare"]:
        rel = f"{m['rate'] / r['bare']['rate']:.2f}"
    if cpu == "–" and r["bare"]["cpu_ms"] and m is not r["bare"]:
        cpu = f"{m['cpu_ms'] / r['bare']['cpu_ms']:.1f}×"
    others = m["cpu_ms"] - m["main_ms"]
    return (f"| {r['articles']:,} | {name} | {m['rate']:.0f} | {rel} | {m['cpu_ms']:.2f} | {m['main_ms']:.2f} | "
            f"{others:.2f} | {cpu} | {m['rss_mb']:.0f} MB | {extra} |\n")


def table(results: list[dict]) -> str:
    """One row per crawler and size, side by side: pages/s, CPU ms per page (all processes, the crawling
    process, the others), the ratios to bare Scrapy (and ours to the peer), RSS."""
    head = ("| articles | crawler | pages/s | pages/s vs bare Scrapy (ours ≥ 0.4) | CPU ms/page, all processes | "
            "… crawling process | … other processes | CPU vs bare (ours ≤ 2.5×) | peak RSS (ours ≤ 400 MB) | "
            "archive bytes/article | no-op re-crawl (< 1%) |\n"
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    rows = []
    for r in results:
        rows.append(_row(r, "raw asyncio fetch (physical limit)", r["raw"]))
        rows.append(_row(r, "bare Scrapy", r["bare"], "1.00", "1.0×"))
        if r.get("peer"):
            rows.append(_row(r, "peer: Scrapy + trafilatura + sqlite-utils insert", r["peer"]))
        for o in r["ours"]:
            noop = (f"{o['noop_wall']:.1f} s of {o['wall']:.0f} s ({100 * o['noop_fraction']:.1f}%)"
                    if o["noop_responses"] else "not run")
            vs_peer = f"; {o['vs_peer']:.1f}× the peer's pages/s" if o.get("vs_peer") else ""
            rows.append(_row(r, f"govnews ({_label(o['settings'])}{vs_peer})", o, f"{o['ratio']:.2f}",
                             f"{o['cpu_ratio']:.1f}×", f"{o['bytes_per_article'] / 1024:.1f} KB | {noop}"))
    return head + "".join(rows)


def main() -> None:
    if "--workers" in sys.argv:  # the distributed crawl: bench/distributed.py
        from bench.distributed import main as distributed

        distributed(sys.argv[1:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--sections", type=int, default=20)
    ap.add_argument("--small", type=int, default=10_000, help="also measure this size first (0: skip)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--server-procs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="rounds per size; medians are reported")
    ap.add_argument("--no-recrawl", action="store_true")
    ap.add_argument("--no-peer", action="store_true", help="skip the peer pipeline (trafilatura: ~10× our CPU per page)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=VALUE[,NAME=VALUE]",
                    help="also measure our crawl with these extra settings (repeatable); "
                         "default: defaults and GOVNEWS_EXTRACT_PROCESSES=2")
    ap.add_argument("--workdir", type=Path, help="keep logs here (default: a temporary directory)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--bare", nargs=4, metavar=("BASE", "ARTICLES", "SECTIONS", "CONCURRENCY"), help=argparse.SUPPRESS)
    ap.add_argument("--raw", nargs=4, metavar=("BASE", "ARTICLES", "SECTIONS", "CONCURRENCY"), help=argparse.SUPPRESS)
    ap.add_argument("--peer", nargs=5, metavar=("BASE", "ARTICLES", "SECTIONS", "CONCURRENCY", "DB"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    for mode, fn in (("bare", bare_main), ("raw", raw_main), ("peer", peer_main)):
        argv = getattr(a, mode)
        if argv:
            fn(argv[0], int(argv[1]), int(argv[2]), int(argv[3]), *argv[4:])
            return
    variants = [dict(kv.split("=", 1) for kv in v.split(",")) if v != "defaults" else {} for v in a.variant]
    variants = variants or [{}, {"GOVNEWS_EXTRACT_PROCESSES": "2"}]
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="govnews-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for size in [s for s in (a.small, a.articles) if s]:
        print(f"== {size:,} articles in {a.sections} sections (logs in {workdir})", file=sys.stderr, flush=True)
        results.append(measure(size, a.sections, a.concurrency, a.server_procs, workdir, a.repeat,
                               not a.no_recrawl, variants, not a.no_peer))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "runs"}, ensure_ascii=False),
              file=sys.stderr, flush=True)
        if a.json:
            a.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(table(results))


if __name__ == "__main__":
    main()
