"""What the browser costs: the same generated site crawled with plain fetching and with every page
rendered by headless Chromium (render = "browser"), one after another against one server.

    .venv/bin/python bench/browser.py [--articles 300] [--sections 3] [--pages 2] [--repeat 3]

It serves fixtures.sites.generated from the pre-forked fixtures.fastserver (as bench/crawl.py does) and
runs `govnews crawl` into a fresh archive per run: plain, then with the site's every section rendered
in the browser (GOVNEWS_BROWSER_PAGES = --pages). It prints medians of pages/s (responses / Scrapy's
elapsed_time_seconds), wall time and peak RSS of the whole process tree (the crawl, the Playwright
driver and every Chromium process, sampled from /proc twice a second), and the ratios.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.crawl import CLI, PY, _run, start_server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--sections", type=int, default=3)
    ap.add_argument("--pages", type=int, default=2, help="GOVNEWS_BROWSER_PAGES for the browser runs")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from crawler.browser import find_chromium
    from fixtures.sites.generated import Generated

    if not find_chromium():
        raise SystemExit("bench/browser.py: no Chromium (apt-get install chromium)")
    gen = Generated(args.articles, args.sections)
    work = Path(tempfile.mkdtemp(prefix="govnews-bench-browser-"))
    tomls = {"plain": work / "plain.toml", "browser": work / "browser.toml"}
    tomls["plain"].write_text(gen.toml(), encoding="utf-8")
    tomls["browser"].write_text('render = "browser"\n' + gen.toml(), encoding="utf-8")
    server, base = start_server(args.articles, args.sections, 2)
    runs: dict[str, list] = {"plain": [], "browser": []}
    try:
        for r in range(args.repeat):
            for name, toml in tomls.items():
                db = work / f"{name}-{r}" / "archive.db"
                db.parent.mkdir(parents=True)
                run = _run(name, [PY, "-m", CLI, "crawl", "--site", str(toml), "--base-url", base, "--db", str(db),
                                  "--log-level", "INFO", "-s", f"GOVNEWS_BROWSER_PAGES={args.pages}"],
                           log=work / f"{name}-{r}.log")
                with sqlite3.connect(db) as conn:
                    archived = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
                    browser = conn.execute("SELECT count(*) FROM articles WHERE fetched_by = 'browser'").fetchone()[0]
                if run.exit != 0 or archived != args.articles or (name == "browser") != (browser == archived):
                    raise SystemExit(f"{name} run {r}: exit {run.exit}, {archived} archived ({browser} by browser); "
                                     f"see {work}/{name}-{r}.log")
                runs[name].append(run)
                shutil.rmtree(db.parent)
    finally:
        server.terminate()
        server.wait()

    def med(name: str, attr: str) -> float:
        return statistics.median(getattr(x, attr) for x in runs[name])

    print(f"{args.articles} articles in {args.sections} sections, {args.repeat} runs each, "
          f"browser pages = {args.pages} (medians)\n")
    print("| measure | plain fetching | every page in the browser | browser / plain |")
    print("| --- | --- | --- | --- |")
    for label, attr, fmt in (("pages/s", "rate", "{:.1f}"), ("wall s", "wall", "{:.1f}"),
                             ("peak RSS, process tree", "rss_mb", "{:.0f} MB")):
        p, b = med("plain", attr), med("browser", attr)
        print(f"| {label} | {fmt.format(p)} | {fmt.format(b)} | {b / p:.2f}× |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
