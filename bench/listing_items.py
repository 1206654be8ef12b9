"""Memory of a crawl that meets one listing page with 100,000 article links (issue 11, item 10).

    .venv/bin/python bench/listing_items.py [--links 100000] [--cap 5000] [--repeat 3]

Serves a one-section mini-site (fixtures/sites/mini.py) whose listing page links --links articles
(every article answered by the same small page), then runs `govnews crawl` with
GOVNEWS_MAX_LISTING_ITEMS=0 (no item cap) and =--cap (the default), each stopped after 200
responses (CLOSESPIDER_PAGECOUNT: by then every request the listing gave is queued), and prints the
peak RSS of each crawl process (wait4 ru_maxrss), the median of --repeat runs, side by side.

Measured on this machine (2 shared cores), 100,000 links, a 9.0 MB page:

| crawl | peak RSS, MB |
| --- | --- |
| before (main at 2026-12-03 06:46: the row finder was quadratic in the links of one list) | over 513, still extracting after 7 min of CPU when stopped at 15 min |
| now, GOVNEWS_MAX_LISTING_ITEMS=0 (the row finder looks at 20,000 title links at most) | 305 |
| now, GOVNEWS_MAX_LISTING_ITEMS=5000 (the default) | 300 |

Extraction of that page alone (crawler.listing.extract_listing): 4.8 s of CPU and 232 MB peak, from
36 s for 32,000 links before. The rest of the peak is the parsed page itself (lxml) and Scrapy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fixtures.server import FixtureServer, Reply  # noqa: E402
from fixtures.sites.mini import MiniSite  # noqa: E402


class HugeListing(MiniSite):
    def build(self, base_url: str) -> None:
        super().build(base_url)
        page = next(iter(self.served))
        reply = self.pages[page]
        rows = "".join(f'<li><a href="/n/{i}.html">第{i}号通知</a><span class="date">2025-03-01</span></li>'
                       for i in range(self.count))
        self.pages[self.listing] = Reply.html(f'<html><head><meta charset="utf-8"><title>列表</title></head><body>'
                                              f'<ul class="newslist">{rows}</ul></body></html>')
        self.handlers.append(lambda req: reply if req.path.startswith("/n/") else None)


def peak_rss_mb(argv: list[str]) -> float:
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--links", type=int, default=100_000)
    ap.add_argument("--cap", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    site = HugeListing(["/a/one.html"])
    site.count = args.links
    results: dict[str, list[float]] = {"GOVNEWS_MAX_LISTING_ITEMS=0": [], f"GOVNEWS_MAX_LISTING_ITEMS={args.cap}": []}
    with FixtureServer([site]), tempfile.TemporaryDirectory() as tmp:
        toml = site.definition(Path(tmp))
        print(f"listing page: {len(site.pages[site.listing].body) / 1e6:.1f} MB, {args.links} links")
        for n in range(args.repeat):
            for label, cap in zip(results, (0, args.cap), strict=True):
                db = Path(tmp) / f"{n}-{cap}.db"
                results[label].append(peak_rss_mb([
                    sys.executable, "-m", "crawler.cli", "crawl", "--site", str(toml), "--base-url", site.base_url,
                    "--db", str(db), "-s", f"GOVNEWS_MAX_LISTING_ITEMS={cap}", "-s", "CLOSESPIDER_PAGECOUNT=200"]))
    print("| crawl | peak RSS, MB (median) | runs |")
    print("| --- | --- | --- |")
    for label, values in results.items():
        print(f"| {label} | {statistics.median(values):.0f} | {', '.join(f'{v:.0f}' for v in values)} |")


if __name__ == "__main__":
    main()
