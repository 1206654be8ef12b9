"""What page resources cost a crawl (issue 18): requests and bytes per article, pages/s with and without.

    .venv/bin/python bench/resources.py [--articles 2000] [--sections 4] [--images 2] [--image-kb 40]
                                        [--concurrency 16] [--repeat 3] [--markdown]

Serves the generated news centre (fixtures.sites.generated, ~30 KB article pages whose template links
a stylesheet, a script, a logo and a QR code, the stylesheet a background image) with --images in-body
images per article (--image-kb each, every one its own bytes) from the pre-forked fixtures.fastserver,
then runs `govnews crawl` into a fresh archive three ways, interleaved, --repeat rounds:
  none:   GOVNEWS_MAX_RESOURCES=0 (no resource fetched: the crawl bench/crawl.py measures);
  images: GOVNEWS_PAGE_RESOURCES=false (the in-body images only);
  all:    the defaults (in-body images, stylesheets, scripts, template images, what the CSS references).
Same Scrapy settings as bench/crawl.py (no delay, CONCURRENT_REQUESTS[_PER_DOMAIN] = --concurrency).
It prints medians: responses and response bytes per article, article pages/s (articles / Scrapy's
elapsed_time_seconds), responses/s, CPU ms per article (user + system of the crawl's process tree, from
wait4: what a busy shared machine changes least), and archive bytes per article (SQLite + WARC).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.crawl import CLI, PY, _run, _stat, archive_bytes, scrapy_settings  # noqa: E402

# Each variant's settings go on top of bench/crawl.py's scrapy_settings, which turns page resources off.
VARIANTS = {"none": {"GOVNEWS_MAX_RESOURCES": 0}, "images": {"GOVNEWS_PAGE_RESOURCES": False},
            "all": {"GOVNEWS_PAGE_RESOURCES": True}}


def start_server(articles: int, sections: int, images: int, image_kb: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([PY, "-m", "fixtures.fastserver", "--articles", str(articles), "--sections", str(sections),
                             "--procs", "2", "--images", str(images), "--image-kb", str(image_kb)],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def measure(articles: int, sections: int, images: int, image_kb: int, concurrency: int, repeat: int,
            workdir: Path) -> dict:
    from fixtures.sites.generated import Generated

    gen = Generated(articles, sections, images=images, image_kb=image_kb)
    site_toml = workdir / "generated.toml"
    site_toml.write_text(gen.toml(), encoding="utf-8")
    pages = 1 + len(gen.listing_paths()) + articles  # robots.txt, listing pages, articles
    server, base = start_server(articles, sections, images, image_kb)
    runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    try:
        for r in range(repeat):
            for name, settings in VARIANTS.items():
                sets = [x for k, v in {**scrapy_settings(concurrency), **settings}.items() for x in ("-s", f"{k}={v}")]
                db = workdir / f"{name}-{r}" / "archive.db"
                shutil.rmtree(db.parent, ignore_errors=True)
                db.parent.mkdir(parents=True)
                log = workdir / f"{name}-{r}.log"
                run = _run(name, [PY, "-m", CLI, "crawl", "--site", str(site_toml), "--base-url", base, "--db", str(db),
                                  "--log-level", "INFO", *sets], log=log)
                stderr = log.read_text()
                with sqlite3.connect(db) as conn:
                    archived = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
                    resources = conn.execute("SELECT coalesce(sum(resources), 0) FROM crawl_runs").fetchone()[0]
                runs[name].append({"responses": run.responses, "elapsed": run.elapsed, "cpu": run.cpu, "archived": archived,
                                   "resources": resources, "bytes": _stat(stderr, "downloader/response_bytes"),
                                   "archive_bytes": archive_bytes(db), "exit": run.exit})
                shutil.rmtree(db.parent)
    finally:
        server.terminate()
        server.wait(timeout=30)

    def med(name: str, f) -> float:
        return statistics.median(f(x) for x in runs[name])

    out = {"articles": articles, "images_per_article": images, "image_kb": image_kb, "pages": pages,
           "concurrency": concurrency, "repeat": repeat, "variants": {}, "runs": runs}
    for name in VARIANTS:
        out["variants"][name] = {
            "responses_per_article": med(name, lambda x: x["responses"] / articles),
            "resource_requests_per_article": med(name, lambda x: (x["responses"] - pages) / articles),
            "kb_per_article": med(name, lambda x: x["bytes"] / articles / 1024),
            "article_pages_per_s": med(name, lambda x: x["archived"] / x["elapsed"] if x["elapsed"] else 0.0),
            "responses_per_s": med(name, lambda x: x["responses"] / x["elapsed"] if x["elapsed"] else 0.0),
            "cpu_ms_per_article": med(name, lambda x: 1000 * x["cpu"] / articles),
            "archive_kb_per_article": med(name, lambda x: x["archive_bytes"] / articles / 1024),
            "archived": [x["archived"] for x in runs[name]], "resources": [x["resources"] for x in runs[name]],
        }
    return out


def table(r: dict) -> str:
    none = r["variants"]["none"]["article_pages_per_s"]
    head = (f"{r['articles']:,} articles, {r['images_per_article']} in-body images of {r['image_kb']} KB each, "
            f"concurrency {r['concurrency']}, medians of {r['repeat']}\n\n"
            "| resources | requests/article | resource requests/article | KB fetched/article | article pages/s "
            "| vs none | responses/s | CPU ms/article | CPU vs none | archive KB/article |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    rows = []
    cpu_none = r["variants"]["none"]["cpu_ms_per_article"]
    for name, v in r["variants"].items():
        rel = v["article_pages_per_s"] / none if none else 0.0
        cpu_rel = v["cpu_ms_per_article"] / cpu_none if cpu_none else 0.0
        rows.append(f"| {name} | {v['responses_per_article']:.2f} | {v['resource_requests_per_article']:.2f} | "
                    f"{v['kb_per_article']:.1f} | {v['article_pages_per_s']:.1f} | {rel:.2f} | "
                    f"{v['responses_per_s']:.0f} | {v['cpu_ms_per_article']:.1f} | {cpu_rel:.2f}× | "
                    f"{v['archive_kb_per_article']:.1f} |\n")
    return head + "".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--sections", type=int, default=4)
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--image-kb", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="govnews-bench-resources-"))
    workdir.mkdir(parents=True, exist_ok=True)
    r = measure(a.articles, a.sections, a.images, a.image_kb, a.concurrency, a.repeat, workdir)
    if a.json:
        a.json.write_text(json.dumps(r, indent=1))
    print(table(r))


if __name__ == "__main__":
    main()
