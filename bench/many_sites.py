"""Many sites at once: one `govnews crawl` of N sites against the N single-site crawls, side by side.

N generated sites, each on its own loopback address (127.0.0.2, ...: Scrapy's politeness is per host),
crawled politely (DOWNLOAD_DELAY per host, at most 2 requests at once per host). Prints the wall time of
one multi-site run next to the sum and the max of the single-site runs of the same sites, and the ratios.

    .venv/bin/python bench/many_sites.py --sites 20 --articles 30 --delay 0.3 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fixtures.server import FixtureServer  # noqa: E402
from fixtures.sites.generated import GeneratedSite  # noqa: E402


def crawl(paths: list[str], db: Path, delay: float) -> float:
    args = [a for p in paths for a in ("--site", p)]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "crawl", *args, "--db", str(db),
                           "-s", f"DOWNLOAD_DELAY={delay}", "-s", f"AUTOTHROTTLE_START_DELAY={delay}",
                           "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"], cwd=REPO, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"crawl failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--articles", type=int, default=30, help="articles per site")
    ap.add_argument("--sections", type=int, default=2)
    ap.add_argument("--delay", type=float, default=0.3, help="seconds between requests to one host")
    ap.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    a = ap.parse_args()
    rows = []
    for _ in range(a.repeat):
        sites = []
        for i in range(a.sites):
            site = GeneratedSite(articles=a.articles, sections=a.sections, page_kb=8)
            site.name = f"bench{i:02d}"
            sites.append(site)
        with FixtureServer(sites, distinct_hosts=True) as _, tempfile.TemporaryDirectory() as tmp:
            paths = []
            for site in sites:
                path = Path(tmp) / f"{site.name}.toml"
                path.write_text(f'base_url = "{site.base_url}"\npolite = true\n' + site.gen.toml(site.name),
                                encoding="utf-8")
                paths.append(str(path))
            together = crawl(paths, Path(tmp) / "all.db", a.delay)
            alone = [crawl([p], Path(tmp) / f"{Path(p).stem}.db", a.delay) for p in paths]
            rows.append((together, sum(alone), max(alone)))
    together, total, slowest = (statistics.median(r[i] for r in rows) for i in range(3))
    print(f"{a.sites} sites x {a.articles} articles, {a.delay} s per host, {a.repeat} round(s), medians:")
    print("| run | wall time | vs one run of all |")
    print("| --- | --- | --- |")
    print(f"| all {a.sites} sites in one `govnews crawl` | {together:.1f} s | 1.00× |")
    print(f"| the {a.sites} sites one after another (sum) | {total:.1f} s | {total / together:.2f}× |")
    print(f"| the slowest site alone (max) | {slowest:.1f} s | {slowest / together:.2f}× |")
    print(f"one run of all = {together / slowest:.2f}× the slowest site alone (target ≤ 1.5×)")


if __name__ == "__main__":
    main()
