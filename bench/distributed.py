"""Distributed crawl throughput: 1, 2 and 4 workers against the single-process crawl, and the writer's
sustained ingest rate from a pre-filled records stream. Real redis-server, real HTTP (the fast server).

    .venv/bin/python bench/distributed.py --articles 2000 --workers 1 2 4 --ingest 20000
    .venv/bin/python bench/crawl.py --workers 1 2 4      # the same, from the crawl benchmark
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    exe = shutil.which("redis-server")
    if not exe:
        raise SystemExit("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp)], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


def start_site(articles: int, sections: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([PY, "-m", "fixtures.fastserver", "--articles", str(articles), "--sections",
                             str(sections), "--procs", "1"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def timed_crawl(toml: Path, base: str, db: Path, *extra: str) -> float:
    started = time.monotonic()
    done = subprocess.run([PY, "-m", "crawler.cli", "crawl", "--site", str(toml), "--base-url", base, "--db", str(db),
                           *extra], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"crawl failed:\n{done.stderr[-2000:]}")
    return time.monotonic() - started


def crawl_rows(articles: int, sections: int, worker_counts: list[int], tmp: Path, url: str) -> list[tuple]:
    from fixtures.sites.generated import Generated

    server, base = start_site(articles, sections)
    toml = tmp / "generated.toml"
    toml.write_text(Generated(articles, sections).toml(), encoding="utf-8")
    rows = [("single process", articles / timed_crawl(toml, base, tmp / "single.db"))]
    try:
        for n in worker_counts:
            warc = tmp / f"warc{n}"
            workers = [subprocess.Popen([PY, "-m", "crawler.cli", "worker", "--redis", url, "--id", f"b{n}w{i}",
                                         "--warc-dir", str(warc)], cwd=REPO, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(n)]
            try:
                elapsed = timed_crawl(toml, base, tmp / f"dist{n}.db", "--redis", url, "--warc-dir", str(warc))
            finally:
                for w in workers:
                    os.killpg(w.pid, signal.SIGTERM)
                    w.wait()
            rows.append((f"{n} worker(s) + writer", articles / elapsed))
    finally:
        server.terminate()
    return rows


def ingest_rate(count: int, tmp: Path, url: str) -> tuple[float, float]:
    """Envelopes of article records pre-filled in the stream, then consumed by the writer: articles/s
    (wall) and the writer's CPU ms per article (process time: what the rate would be on an idle core)."""
    from scrapy.settings import Settings

    from archive.rows import text_check
    from archive.search import index_text
    from crawler.distributed.coordinator import Coordinator
    from crawler.distributed.records import Envelope
    from crawler.extractpool import extract_with_index_text
    from crawler.items import Article
    from crawler.sites import parse_site
    from fixtures.sites.generated import Generated

    gen = Generated(articles=200, sections=1)
    site = parse_site({"name": "ingest", "base_url": "http://127.0.0.1:9/", "fixture": True,
                       "sections": [{"name": "栏目00", "url": "/ns_class/s00"}]}, "bench")
    # 200 distinct articles, cycled, as a worker sends them: with their bigram text (crawler/extractpool.py)
    records = [extract_with_index_text(f"http://127.0.0.1:9{p}", gen.respond(p)[2]) for p in gen.article_paths()]
    settings = Settings()
    settings.setmodule("crawler.settings")
    settings.set("GOVNEWS_DB", str(tmp / "ingest.db"))
    from archive.store import Archive

    with Archive(tmp / "ingest.db") as archive:
        settings.set("GOVNEWS_RUN_ID", archive.start_run("ingest"))
    co = Coordinator(site, settings, url)
    co.writer.open_run(site)
    co.server.xgroup_create(co.keys.records, "writer", id="0", mkstream=True)
    pipe = co.server.pipeline(transaction=False)
    for i in range(count):
        token = f"t{i}"
        co.outstanding.add(token)
        record = records[i % len(records)]
        title = f"{record['title']} {i}"
        rec = {**record, "url": f"http://127.0.0.1:9/ns_news/{i}", "site": "ingest", "title": title,
               "fts_text": {**record["fts_text"], "title": [text_check(title), index_text(title)]}}
        pipe.xadd(co.keys.records, {"e": pickle.dumps(Envelope(token, [Article("栏目00", rec)]))})
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    started, cpu = time.monotonic(), time.process_time()
    co.consume()
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu
    co.end("finished")
    return count / elapsed, 1000 * cpu / count


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--sections", type=int, default=4)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--ingest", type=int, default=20000, help="envelopes for the writer's ingest rate (0: skip)")
    ap.add_argument("--ingest-only", action="store_true", help="only the writer's ingest rate (no crawls)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds (a fresh Redis and site each); medians are reported")
    a = ap.parse_args(argv)
    rounds, rates = [], []
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            redis_proc, url = start_redis(Path(tmp))
            try:
                if not a.ingest_only:
                    rounds.append(crawl_rows(a.articles, a.sections, a.workers, Path(tmp), url))
                if a.ingest:
                    rates.append(ingest_rate(a.ingest, Path(tmp), url))
            finally:
                redis_proc.terminate()
    if rounds:
        rows = [(name, statistics.median(r[i][1] for r in rounds)) for i, (name, _) in enumerate(rounds[0])]
        base = rows[0][1]
        print(f"generated site, {a.articles} articles, {os.cpu_count()} cores, median of {len(rounds)} round(s):")
        print("| crawl | pages/s | vs single process |")
        print("| --- | --- | --- |")
        for name, pps in rows:
            print(f"| {name} | {pps:.0f} | {pps / base:.2f}× |")
    if rates:
        wall = statistics.median(w for w, _ in rates)
        cpu_ms = statistics.median(c for _, c in rates)
        print(f"writer ingest from a pre-filled stream ({a.ingest:,} articles, median of {len(rates)}): {wall:.0f} "
              f"articles/s wall, {cpu_ms:.2f} ms writer CPU per article = {1000 / cpu_ms:.0f} articles/s per idle core "
              f"(target ≥ 2,000; rounds: {', '.join(f'{w:.0f}' for w, _ in rates)} articles/s)")

if __name__ == "__main__":
    main()
