"""The save path alone: CPU per archived article in the crawl's one writer (crawler.writer.ArchiveWriter).

    .venv/bin/python bench/store.py [--articles 3000] [--repeat 5] [-s GOVNEWS_COMMIT_ITEMS=1 ...]

Articles of the generated site are extracted first (not timed); then, as a crawl does, for every
listing page of 20 a ListingPage item and for each of its articles a capture index row and an Article
item go through the writer into a fresh archive (search index, facet triggers, versions: everything
on). It prints the writer's CPU ms per article (process time of the write calls only, the commit at
the end included) and the bytes written to disk per article (/proc/self/io), median of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def records(n: int) -> list[dict]:
    from crawler.extract import extract_article
    from fixtures.sites.generated import Generated

    gen = Generated(n, 1)
    out = []
    for path in gen.article_paths():
        _, _, body = gen.respond(path)
        out.append({**extract_article(f"http://bench.test{path}", body, None), "site": "bench",
                    "http_status": 200, "fetched_at": "2026-12-03T00:00:00+00:00"})
    return out


def _written() -> int:
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("write_bytes"))
    except (OSError, StopIteration):
        return 0


def one_run(recs: list[dict], db: Path, settings: dict) -> tuple[float, float]:
    from scrapy.utils.test import get_crawler

    from archive.warc import Capture
    from crawler.items import Article, ListingPage, WalkEnded
    from crawler.sites import parse_site
    from crawler.writer import ArchiveWriter

    site = parse_site({"name": "bench", "base_url": "http://bench.test/",
                       "sections": [{"name": "栏目00", "url": "/ns_class/s00"}]}, "bench")
    writer = ArchiveWriter.of(get_crawler(settings_dict={"GOVNEWS_DB": str(db), **settings}))
    writer.open_run(site)
    cpu, io0 = 0.0, _written()
    for start in range(0, len(recs), 20):
        page = recs[start:start + 20]
        t = time.process_time()
        writer.write(ListingPage("栏目00", f"http://bench.test/ns_class/s00/{start // 20 + 1}", start // 20 + 1,
                                 [{"url": r["url"]} for r in page]))
        cpu += time.process_time() - t
        for i, rec in enumerate(page):
            cap = Capture("bench-00000.warc.gz", 1000 * (start + i), 900, f"sha1:{start + i:032d}",
                          f"<urn:uuid:{start + i:032x}>", "2026-12-03T00:00:00.000000Z")
            rec = {**rec, **cap.pointer()}
            t = time.process_time()
            writer.save_capture(rec["url"], "article", 200, "text/html", 30_000, cap)
            writer.write(Article("栏目00", rec))
            cpu += time.process_time() - t
    t = time.process_time()
    writer.write(WalkEnded("栏目00", "last page", complete=True, reached_end=True, listed={r["url"] for r in recs}))
    writer.finish_run("finished")
    writer.close()
    cpu += time.process_time() - t
    return 1000 * cpu / len(recs), (_written() - io0) / len(recs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("-s", action="append", default=[], metavar="NAME=VALUE", help="a writer setting")
    a = ap.parse_args()
    settings = dict(kv.split("=", 1) for kv in a.s)
    recs = records(a.articles)
    cpus, ios = [], []
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            cpu, io = one_run(recs, Path(tmp) / "bench.db", settings)
        cpus.append(cpu)
        ios.append(io)
    print(f"store CPU per article: median {statistics.median(cpus):.3f} ms "
          f"(runs: {', '.join(f'{c:.3f}' for c in cpus)}); disk writes {statistics.median(ios) / 1024:.0f} KB/article"
          f" [{a.articles} articles, {settings or 'defaults'}]")


if __name__ == "__main__":
    main()
