"""Benchmark: our extractor vs trafilatura vs GNE on ../shared/realpages, in one process.

    .venv/bin/python bench/extraction.py [--shared PATH] [--repeat N] [--markdown] [--pages]

Every extractor gets the same decoded page text (our decoder; the corpus pages are UTF-8 anyway) and
is scored with the functions of the project's yardstick, ../shared/tools/score_pages.py, imported
from there so the numbers mean exactly what the scorer's summary line means. Timing is wall-clock
per page (best of --repeat runs, after one warm-up), parsing included, with the extractors timed in
turn on each page so that a busy machine slows them alike. Peers come from the optional
`bench` extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.encoding import decode_html  # noqa: E402
from crawler.extract import extract_article  # noqa: E402


def find_shared(explicit: str | None) -> Path:
    for cand in [explicit, os.environ.get("GOVNEWS_SHARED"), REPO.parent / "shared", REPO.parent.parent / "shared"]:
        if cand and (Path(cand) / "realpages" / "manifest.jsonl").is_file():
            return Path(cand)
    sys.exit("no ../shared/realpages found (pass --shared or set GOVNEWS_SHARED)")


def load_scorer(shared: Path):
    spec = importlib.util.spec_from_file_location("score_pages", shared / "tools" / "score_pages.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_pages(shared: Path) -> list[dict]:
    corpus = shared / "realpages"
    pages = []
    for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        if m["kind"] != "article":
            continue
        rel = Path(m["file"]).relative_to("pages")
        body = (corpus / m["file"]).read_bytes()
        pages.append({
            "file": m["file"], "url": m.get("url"), "bytes": body, "text": decode_html(body)[0],
            "gold": json.loads((corpus / "gold" / rel.with_suffix(".json")).read_text(encoding="utf-8")),
        })
    return pages


# Each runner maps a page to the scorer's article shape.

def run_ours(page: dict) -> dict:
    rec = extract_article(page["url"] or "", page["bytes"], None)
    return {**rec, "attachments": [a["url"] for a in rec["attachments"]],
            "images": [i["url"] for i in rec["images"]]}


def run_ours_density_only(page: dict) -> dict:
    """Ours with every CMS family detector switched off: each page goes through the structural density
    fallback, as a page of a CMS we have never seen would. Shows how much rests on family rules."""
    from crawler.extract import families

    saved = families.candidates
    families.candidates = lambda root: iter(())
    try:
        return run_ours(page)
    finally:
        families.candidates = saved


def make_trafilatura() -> Callable[[dict], dict] | None:
    try:
        import trafilatura
    except ImportError:
        return None

    def run(page: dict) -> dict:
        doc = trafilatura.bare_extraction(page["text"], url=page["url"], with_metadata=True,
                                          include_tables=True, include_images=False)
        if doc is None:
            return {}
        d = doc if isinstance(doc, dict) else doc.as_dict()
        return {"title": d.get("title"), "published": d.get("date"), "author": d.get("author"),
                "source": None, "body": d.get("text") or "", "attachments": [], "images": []}
    return run


def make_gne() -> Callable[[dict], dict] | None:
    try:
        from gne import GeneralNewsExtractor
    except ImportError:
        return None
    extractor = GeneralNewsExtractor()

    def run(page: dict) -> dict:
        d = extractor.extract(page["text"], host=page["url"] or "", noise_node_list=None)
        return {"title": d.get("title"), "published": d.get("publish_time"), "author": d.get("author"),
                "source": None, "body": d.get("content") or "", "attachments": [],
                "images": d.get("images") or []}
    return run


def evaluate(runners: list[tuple[str, Callable[[dict], dict]]], pages: list[dict], scorer,
             repeat: int) -> list[dict]:
    """Score every runner on every page. Timing is interleaved (each page, each round, every runner in
    turn) so that a busy machine slows all extractors alike and the speed ratio stays fair."""
    rows: dict[str, list] = {name: [] for name, _ in runners}
    times: dict[str, list] = {name: [] for name, _ in runners}
    for page in pages:
        best = {name: float("inf") for name, _ in runners}
        preds: dict[str, dict] = {}
        for name, run in runners:
            try:
                preds[name] = run(page)  # warm-up (imports, caches), and the scored result
            except Exception as exc:  # a peer crashing on a page scores zero there
                preds[name] = {"_error": repr(exc)}
        for _ in range(repeat):
            for name, run in runners:
                t0 = time.perf_counter()
                try:
                    run(page)
                except Exception:
                    pass
                best[name] = min(best[name], time.perf_counter() - t0)
        for name, _ in runners:
            row = scorer.score_article(preds[name], page["gold"], page["url"])
            row["file"] = page["file"]
            rows[name].append(row)
            times[name].append(best[name])

    def summary(name: str) -> dict:
        rs = rows[name]

        def share(key):
            vals = [bool(r[key]) for r in rs if key in r]
            return sum(vals) / len(vals) if vals else None

        return {
            "name": name, "rows": rs,
            "title": share("title"), "date": share("date"), "time": share("time"), "source": share("source"),
            "written_date": share("written_date"),
            "body_f1": statistics.mean(r["body_f1"] for r in rs),
            "body_f1>=0.95": statistics.mean(r["body_f1"] >= 0.95 for r in rs),
            "pages_with_leaks": sum(bool(r["leaks"]) for r in rs),
            "attach_f1": statistics.mean(r["attach_f1"] for r in rs),
            "median_ms": statistics.median(times[name]) * 1000,
        }

    return [summary(name) for name, _ in runners]


COLUMNS = [("title", "title"), ("date", "date"), ("time", "time"), ("source", "source"),
           ("written_date", "成文日期"), ("body_f1", "body F1"), ("body_f1>=0.95", "F1≥0.95"),
           ("pages_with_leaks", "leak pages"), ("attach_f1", "attach F1"), ("median_ms", "median ms/page")]


def fmt(v, key) -> str:
    if v is None:
        return "–"
    if key == "pages_with_leaks":
        return str(v)
    if key == "median_ms":
        return f"{v:.1f}"
    return f"{v:.3f}" if key in ("body_f1", "attach_f1") else f"{v:.0%}"


def table(results: list[dict], markdown: bool) -> str:
    ours = results[0]["median_ms"]
    traf = next((r["median_ms"] for r in results if r["name"] == "trafilatura"), None)
    head = ["extractor"] + [c[1] for c in COLUMNS] + ["speed vs trafilatura"]
    lines = []
    for r in results:
        ratio = f"{traf / r['median_ms']:.1f}×" if traf else "–"
        lines.append([r["name"]] + [fmt(r[k], k) for k, _ in COLUMNS] + [ratio])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(x) + " |" for x in lines]
        return "\n".join(out)
    widths = [max(len(str(x[i])) for x in [head] + lines) for i in range(len(head))]
    return "\n".join("  ".join(str(x[i]).ljust(widths[i]) for i in range(len(head))) for x in [head] + lines) \
        + f"\n(ours: {ours:.1f} ms median)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", help="path of the shared folder (default: ../shared beside the repo)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per page (best is kept)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--pages", action="store_true", help="also print per-page rows of every extractor")
    a = ap.parse_args()
    shared = find_shared(a.shared)
    scorer = load_scorer(shared)
    pages = load_pages(shared)
    runners = [("govnews (ours)", run_ours), ("ours, no family rules", run_ours_density_only),
               ("trafilatura", make_trafilatura()), ("GNE", make_gne())]
    for name, run in runners:
        if run is None:
            print(f"{name}: not installed (pip install -e '.[bench]'), skipped", file=sys.stderr)
    results = evaluate([(n, r) for n, r in runners if r is not None], pages, scorer, a.repeat)
    if a.pages:
        for r in results:
            for row in r["rows"]:
                print(r["name"], json.dumps(row, ensure_ascii=False))
    print(f"{len(pages)} article pages from {shared / 'realpages'}")
    print(table(results, a.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
