"""Search benchmark: a synthetic archive of N (default 1,000,000) ~1 KB Chinese articles, measured in one run.

Text follows a Zipfian vocabulary: words drawn by jieba's dictionary frequencies, in clauses and sentences
with Chinese punctuation and paragraphs, plus years, numbers and a few Latin acronyms. Measures:

- index size (the FTS5 shadow tables, by dbstat) relative to the UTF-8 size of titles + bodies;
- ingest rate with the index live (through the crawl writer, crawler.writer, as a crawl writes; and
  Archive.save_article one by one);
- for 1-, 2- and 4-character queries: p50/p95 of `?_search=` through Datasette's JSON API with the six
  facets and without (`_nofacet=1`), by the query path from before (count and each facet its own query,
  GOVNEWS_SEARCH_SEPARATE_QUERIES=1) and the one-pass path, side by side in one run; of the ranked and
  newest-first canned queries (`govnews serve`); and of an `instr()` scan of the same rows (direct SQLite).

The archive is built once and reused (--rebuild to start over):

    .venv/bin/python bench/search.py --db /tmp/govnews-bench/bench.db            # 1M articles
    .venv/bin/python bench/search.py --db /tmp/govnews-bench/small.db -n 20000   # a quick try
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archive import search  # noqa: E402
from archive.store import Archive  # noqa: E402

SITES = ["gov-a", "gov-b", "gov-c", "gov-d", "gov-e"]
SECTIONS = ["要闻动态", "部门动态", "领导活动", "通知公告", "政策解读", "区县动态", "媒体关注", "专题专栏"]
ISSUERS = ["市人民政府办公室", "市发展和改革委员会", "市财政局", "市教育局", "市生态环境局", None, None, None]
LATIN = ["GDP", "CPI", "PPP", "5G", "AI", "PM2.5", "APP"]
ALWAYS_FACETED = {"site", "section", "year", "month"}  # facets every synthetic article has a value of


def vocabulary() -> tuple[list[str], list[int]]:
    import jieba

    words, cum, total = [], [], 0
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as f:
        for line in f:
            word, freq, *_ = line.split()
            if not all("\u4e00" <= ch <= "\u9fff" for ch in word):
                continue
            total += int(freq)
            words.append(word)
            cum.append(total)
    return words, cum


class Writer:
    """Article text from the vocabulary: clauses of words, sentences, paragraphs, ~1 KB of UTF-8."""

    POOL = 8_000_000

    def __init__(self, seed: int = 1) -> None:
        self.words, self.cum = vocabulary()
        self.rnd = random.Random(seed)
        # Drawing words one by one is the slow part of building 1M articles: draw a long Zipfian stream
        # once, and cut each clause from a random place in it.
        self.pool = self.rnd.choices(self.words, cum_weights=self.cum, k=self.POOL)

    def words_run(self, k: int) -> str:
        i = self.rnd.randrange(self.POOL - k)
        return "".join(self.pool[i:i + k])

    def sentence(self) -> str:
        rnd = self.rnd
        clauses = []
        for _ in range(rnd.randint(1, 3)):
            clause = self.words_run(rnd.randint(3, 7))
            if rnd.random() < 0.08:
                clause = f"{rnd.randint(2015, 2025)}年{clause}"
            if rnd.random() < 0.04:
                clause += f"{rnd.choice(LATIN)}增长{rnd.randint(1, 99)}.{rnd.randint(0, 9)}%"
            clauses.append(clause)
        return "，".join(clauses) + "。"

    def body(self, nbytes: int = 1000) -> str:
        paras, size = [], 0
        while size < nbytes:
            para = "".join(self.sentence() for _ in range(self.rnd.randint(2, 4)))
            paras.append(para)
            size += len(para.encode())
        return "\n".join(paras)

    def title(self) -> str:
        return self.words_run(self.rnd.randint(4, 8))

    def article(self, i: int, site: str) -> dict:
        rnd = self.rnd
        day = 1420070400 + rnd.randrange(11 * 365 * 86400)  # 2015 .. 2025
        published = time.strftime("%Y-%m-%dT%H:%M:00+08:00", time.gmtime(day))
        return {"url": f"https://www.example.gov.cn/news/{i:08d}.html", "site": site, "title": self.title(),
                "published": published, "source": "本地新闻", "issuer": rnd.choice(ISSUERS), "body": self.body(),
                "content_hash": f"{i:064x}", "encoding": "utf-8", "http_status": 200,
                "fetched_at": "2025-06-01T00:00:00+00:00", "first_seen": "2025-06-01T00:00:00+00:00",
                "last_seen": "2025-06-01T00:00:00+00:00"}


# -- build -------------------------------------------------------------------------------------------


LISTED = 20  # articles per listing page


def listing_pages(writer: Writer, first: int, n: int) -> list:
    """Articles first .. first+n as a crawl yields them: a listing page of 20 (one site and section), then
    its articles (crawler.items); each as (site, item)."""
    from crawler.items import Article, ListingPage

    items = []
    for start in range(first, first + n, LISTED):
        page = start // LISTED
        site, section = SITES[page % len(SITES)], writer.rnd.choice(SECTIONS)
        records = [writer.article(i, site) for i in range(start, min(first + n, start + LISTED))]
        items.append((site, ListingPage(section, f"https://{site}.example.gov.cn/list/{page}.html", 1,
                                        [{"url": r["url"]} for r in records])))
        items += [(site, Article(section, r)) for r in records]
    return items


def crawl_writers(db: Path) -> dict:
    """One crawl writer per site on the archive (crawler.writer: the pipeline every crawl writes through,
    sharing one connection and its batched transactions), each with its run open."""
    from scrapy.utils.test import get_crawler

    from crawler.sites import parse_site
    from crawler.writer import ArchiveWriter

    writers = {}
    for site in SITES:
        w = ArchiveWriter.of(get_crawler(settings_dict={"GOVNEWS_DB": str(db)}))
        w.open_run(parse_site({"name": site, "base_url": f"https://{site}.example.gov.cn/", "sections": [
            {"name": name, "url": f"/s{k}/"} for k, name in enumerate(SECTIONS)]}, "bench"))
        writers[site] = w
    return writers


def write_items(writers: dict, items: list) -> None:
    for site, item in items:
        writers[site].write(item)


def close_writers(writers: dict) -> None:
    for w in writers.values():
        w.batch.commit()  # the last batch (finish_run's coverage count is not ingest)
    for w in writers.values():
        w.finish_run("finished")
        w.close()


def build(db: Path, n: int, chunk: int = 5000, minutes: float | None = None) -> dict:
    """Write n articles through the crawl writer (or as many as fit in `minutes`); return the ingest figures
    (text generation excluded)."""
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    writer = Writer()
    writers = crawl_writers(db)
    t0, c0, done = time.perf_counter(), time.process_time(), 0
    gen_time = gen_cpu = 0.0
    while done < n:
        g, gc = time.perf_counter(), time.process_time()
        items = listing_pages(writer, done, min(chunk, n - done))
        gen_time += time.perf_counter() - g
        gen_cpu += time.process_time() - gc
        write_items(writers, items)
        done = min(n, done + chunk)
        if done % 100000 == 0 or done == n:
            el = time.perf_counter() - t0 - gen_time
            print(f"  {done:,} articles, {done / el:,.0f}/s (text generation excluded)", file=sys.stderr)
        if minutes is not None and time.perf_counter() - t0 > minutes * 60:
            print(f"  stopped after {minutes:g} minutes at {done:,} articles", file=sys.stderr)
            n = done
    next(iter(writers.values())).batch.commit()
    elapsed = time.perf_counter() - t0 - gen_time
    cpu = time.process_time() - c0 - gen_cpu
    close_writers(writers)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"articles": n, "bulk_seconds": round(elapsed, 1), "bulk_rate": round(n / elapsed),
            "bulk_cpu_rate": round(n / cpu)}


def append_rates(db: Path, n: int = 20000) -> dict:
    """Ingest into the full archive (a copy of it): n articles through the crawl writer, then n more
    through Archive.save_article one by one (a transaction each). Wall and CPU rates: the machine is
    shared, so CPU time says what one core does."""
    import shutil

    copy = db.with_name("append-copy.db")
    subprocess.run([sys.executable, "-c", f"import sqlite3; sqlite3.connect({str(db)!r}).execute("
                    "'PRAGMA wal_checkpoint(TRUNCATE)')"], check=True)
    shutil.copy(db, copy)
    writer = Writer(seed=2)
    base = 10_000_000
    items = listing_pages(writer, base, n)
    single = [writer.article(base + n + i, SITES[i % len(SITES)]) for i in range(n)]
    out = {}
    writers = crawl_writers(copy)
    t0, c0 = time.perf_counter(), time.process_time()
    write_items(writers, items)
    next(iter(writers.values())).batch.commit()
    out.update(append_bulk_rate=round(n / (time.perf_counter() - t0)),
               append_bulk_cpu_rate=round(n / (time.process_time() - c0)))
    close_writers(writers)
    with Archive(copy) as archive:
        t0, c0 = time.perf_counter(), time.process_time()
        for r in single:
            archive.save_article(r)
        out.update(save_article_rate=round(n / (time.perf_counter() - t0)),
                   save_article_cpu_rate=round(n / (time.process_time() - c0)))
        assert search.index_in_sync(archive.db)
    for p in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        p.unlink(missing_ok=True)
    return out


# -- sizes -------------------------------------------------------------------------------------------


def sizes(db: Path) -> dict:
    conn = sqlite3.connect(db)
    text = conn.execute("SELECT sum(length(CAST(title AS BLOB)) + length(CAST(body AS BLOB))) FROM articles").fetchone()[0]
    index = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE ?", [search.FTS_TABLE + "%"]).fetchone()[0]
    total = Path(db).stat().st_size
    conn.close()
    return {"text_bytes": text, "index_bytes": index, "index_ratio": round(index / text, 3), "db_bytes": total}


# -- queries -----------------------------------------------------------------------------------------


def pick_queries(db: Path, per_kind: int, one_char: int, seed: int = 3) -> dict[str, list[tuple[str, int]]]:
    """Queries of 1, 2 and 4 characters, with their hit counts.

    2 and 4 characters: words of the vocabulary, taken at random among those a typical search would
    use (matching under 5% of rows). 1 character: common characters (they match a large share)."""
    words, cum = vocabulary()
    freq = [b - a for a, b in zip([0, *cum[:-1]], cum, strict=True)]
    conn = sqlite3.connect(db)
    search.register_functions(conn)
    n = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    rnd = random.Random(seed)

    def hits(q: str) -> int:
        return conn.execute(f"SELECT count(*) FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH govnews_match(?)",
                            [q]).fetchone()[0]

    out: dict[str, list[tuple[str, int]]] = {}
    for k in (2, 4):
        ranked = sorted((f, w) for w, f in zip(words, freq, strict=True) if len(w) == k)[::-1]
        pool = [w for _, w in ranked[:3000]]
        rnd.shuffle(pool)
        chosen = []
        for w in pool:
            h = hits(w)
            if 0 < h < 0.05 * n:
                chosen.append((w, h))
            if len(chosen) == per_kind:
                break
        out[f"{k}-char"] = chosen
    chars = {}
    for w, f in zip(words, freq, strict=True):
        for ch in w:
            chars[ch] = chars.get(ch, 0) + f
    common = [c for c, _ in sorted(chars.items(), key=lambda kv: -kv[1])[:200]]
    out["1-char"] = [(c, hits(c)) for c in rnd.sample(common, one_char)]
    conn.close()
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def cpu_ms(pid: int | None) -> float:
    """CPU time a process has used, all its threads (Datasette runs SQL in a thread pool), in ms (Linux)."""
    if pid is None:
        return 0.0
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total / 1e6


def timed_get(url: str, cpu: list[float] | None = None, pid: int | None = None) -> tuple[float, int]:
    """(milliseconds to a full answer, facets that timed out); a refused answer (Datasette's time limit answers
    400) counts as its time. With `cpu` and the server's pid, appends the CPU ms the server spent on it: on a
    shared machine the wall time also counts other processes' turns, the CPU time does not."""
    c0 = cpu_ms(pid)
    t0 = time.perf_counter()
    timed_out = 0
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            body = r.read()
        if url.split("?", 1)[0].endswith("/articles.json") and "_nofacet=1" not in url:
            # Datasette's JSON does not list the facets that timed out (its HTML page does); every article
            # here has a site, section, year and month, so a search with hits lacking one of those timed out.
            page = json.loads(body)
            if page.get("filtered_table_rows_count"):
                timed_out = len(ALWAYS_FACETED - set(page.get("facet_results") or {}))
    except urllib.error.HTTPError as e:
        print(f"  {e.code} after {(time.perf_counter() - t0) * 1000:,.0f} ms: {url}", file=sys.stderr)
    ms = (time.perf_counter() - t0) * 1000
    if cpu is not None:
        cpu.append(cpu_ms(pid) - c0)
    return ms, timed_out


def serve(db: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("datasette did not start")


# The two query paths, each in its own server on the same archive, asked in turn (so both see the same load):
# before = count and each facet as its own query, the page sorted in articles (kept for this baseline:
# GOVNEWS_SEARCH_SEPARATE_QUERIES=1); after = the page from the narrow table, count and facets in one pass.
PATHS = {"before": {"GOVNEWS_SEARCH_SEPARATE_QUERIES": "1"}, "after": {"GOVNEWS_SEARCH_SEPARATE_QUERIES": ""}}


def measure(db: Path, queries: dict, reps: int, scans: int, port: int) -> dict:
    bases = {path: f"http://127.0.0.1:{port + i}/{db.stem}" for i, path in enumerate(PATHS)}
    procs = [serve(db, port + i, env) for i, env in enumerate(PATHS.values())]
    results, load = {}, []
    try:
        for base in bases.values():  # warm the page cache a little, as a running server would be
            timed_get(f"{base}/articles.json?_size=1")
        for kind, qs in queries.items():
            r = {f"{path}_{k}{cpu}": [] for path in PATHS for k in ("facets", "nofacet") for cpu in ("", "_cpu")} | {
                "ranked": [], "newest": [], "timed_out": {path: 0 for path in PATHS}}
            for q, _ in qs:
                enc = urllib.parse.quote(q)
                for _ in range(reps):
                    for (path, base), proc in zip(bases.items(), procs, strict=True):
                        ms, timed_out = timed_get(f"{base}/articles.json?_search={enc}", r[f"{path}_facets_cpu"], proc.pid)
                        r[f"{path}_facets"].append(ms)
                        r["timed_out"][path] += timed_out
                        r[f"{path}_nofacet"].append(timed_get(f"{base}/articles.json?_search={enc}&_nofacet=1",
                                                              r[f"{path}_nofacet_cpu"], proc.pid)[0])
                    r["ranked"].append(timed_get(f"{bases['after']}/search.json?q={enc}")[0])
                    r["newest"].append(timed_get(f"{bases['after']}/search_newest.json?q={enc}")[0])
                load.append(os.getloadavg()[0])
            results[kind] = r
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
    results["load_average"] = statistics.median(load)
    conn = sqlite3.connect(db)
    search.register_functions(conn)
    for kind, qs in queries.items():
        scan = []
        for q, _ in qs[:scans]:
            t0 = time.perf_counter()
            conn.execute("SELECT count(*) FROM articles WHERE instr(title, ?) > 0 OR instr(body, ?) > 0", [q, q]).fetchone()
            scan.append((time.perf_counter() - t0) * 1000)
        results[kind].update(scan=scan)
    conn.close()
    return results


def cpu(info: dict, key: str) -> str:
    return f", **{info[key]:,}/s** per CPU-second" if key in info else ""


TARGETS = {  # p95 targets (issue 15): with the six facets / without
    "2-char": (150, 60), "1-char": (800, None), "4-char": (None, None)}


def p50_95(values: list[float]) -> str:
    return f"{pct(values, 50):,.0f} / {pct(values, 95):,.0f}"


def verdict(values: list[float], target: int | None) -> str:
    if target is None:
        return ""
    return f" {'✓' if pct(values, 95) <= target else '✗'} (≤ {target})"


def report(build_info: dict, size: dict, queries: dict, results: dict, n: int) -> str:
    lines = [
        f"Archive: {n:,} synthetic articles, {size['text_bytes'] / n:,.0f} bytes of title+body text each "
        f"(UTF-8), database file {size['db_bytes'] / 2**30:.2f} GiB. Load average during the queries "
        f"{results['load_average']:.1f} on {os.cpu_count()} cores.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| index size / text size | {size['index_bytes'] / 2**20:,.0f} MiB / {size['text_bytes'] / 2**20:,.0f} MiB "
        f"= **{size['index_ratio']:.2f}×** | ≤ 1.5× |",
        f"| ingest, building the archive: the crawl writer (`ArchiveWriter`: listing pages and articles, batched) | "
        f"**{build_info['bulk_rate']:,}/s** wall{cpu(build_info, 'bulk_cpu_rate')} | ≥ 2,000/s |",
        f"| ingest into the full archive: the crawl writer | **{build_info['append_bulk_rate']:,}/s** wall, "
        f"**{build_info['append_bulk_cpu_rate']:,}/s** per CPU-second | ≥ 2,000/s |",
        f"| ingest into the full archive: `Archive.save_article` one at a time (a transaction each) | "
        f"**{build_info['save_article_rate']:,}/s** wall, **{build_info['save_article_cpu_rate']:,}/s** "
        "per CPU-second | |",
        "",
        "`?_search=` through Datasette's JSON API, p50 / p95 in ms; before = count and each facet its own query "
        "(each repeating the MATCH), page sorted in articles; after = page sorted in the narrow table, count "
        "and facets in one pass:",
        "",
        "| query | rows matched (median) | six facets: before | after | speed-up (p95) | no facets: before | after "
        "| speed-up (p95) | ranked canned | newest-first canned | `instr()` scan p50 | scan ÷ after p50 (facets / "
        "none) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in ("1-char", "2-char", "4-char"):
        r = results[kind]
        hits = statistics.median(h for _, h in queries[kind])
        ex = ", ".join(q for q, _ in queries[kind][:4])
        scan = statistics.median(r["scan"])
        with_facets, without = TARGETS[kind]
        timed_out = r["timed_out"]
        note = f" ({timed_out['before']} facets timed out)" if timed_out["before"] else ""
        note_after = f" ({timed_out['after']} facets timed out)" if timed_out["after"] else ""
        lines.append(
            f"| {kind} ({ex} …; {len(queries[kind])} queries) | {hits:,.0f} ({hits / n:.2%}) "
            f"| {p50_95(r['before_facets'])}{note} | **{p50_95(r['after_facets'])}**{note_after}"
            f"{verdict(r['after_facets'], with_facets)} "
            f"| {pct(r['before_facets'], 95) / pct(r['after_facets'], 95):.1f}× "
            f"| {p50_95(r['before_nofacet'])} | **{p50_95(r['after_nofacet'])}**{verdict(r['after_nofacet'], without)} "
            f"| {pct(r['before_nofacet'], 95) / pct(r['after_nofacet'], 95):.1f}× "
            f"| {p50_95(r['ranked'])} | {p50_95(r['newest'])} | {scan:,.0f} ms "
            f"| {scan / pct(r['after_facets'], 50):,.0f}× / {scan / pct(r['after_nofacet'], 50):,.0f}× |")
    lines += ["", "CPU time the Datasette server spent per request (all its threads), p50 / p95 in ms — the same "
              "requests; on a shared machine this is what each path costs, whatever else runs:", "",
              "| query | six facets: before | after | ratio (p50) | no facets: before | after | ratio (p50) |",
              "|---|---|---|---|---|---|---|"]
    for kind in ("1-char", "2-char", "4-char"):
        r = results[kind]
        lines.append(
            f"| {kind} | {p50_95(r['before_facets_cpu'])} | **{p50_95(r['after_facets_cpu'])}** "
            f"| {pct(r['before_facets_cpu'], 50) / max(pct(r['after_facets_cpu'], 50), 0.1):.1f}× "
            f"| {p50_95(r['before_nofacet_cpu'])} | **{p50_95(r['after_nofacet_cpu'])}** "
            f"| {pct(r['before_nofacet_cpu'], 50) / max(pct(r['after_nofacet_cpu'], 50), 0.1):.1f}× |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/govnews-bench/bench.db"))
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--build-minutes", type=float, help="stop building after this long (the largest archive that fits)")
    ap.add_argument("--append", type=int, default=20000, help="articles appended (twice: crawl writer, one by one) to time ingest")
    ap.add_argument("--queries", type=int, default=20, help="queries of 2 and of 4 characters")
    ap.add_argument("--one-char", type=int, default=10, help="queries of 1 character (slow: they match most rows)")
    ap.add_argument("--reps", type=int, default=3, help="timed runs of each query")
    ap.add_argument("--scans", type=int, default=3, help="instr() scans of each length (slow)")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--json", type=Path, help="write all measurements here")
    args = ap.parse_args()
    info_path = Path(f"{args.db}.build.json")
    if args.rebuild or not args.db.exists() or not info_path.exists():
        print(f"building {args.n:,} articles into {args.db} …", file=sys.stderr)
        info = build(args.db, args.n, minutes=args.build_minutes)
        info_path.write_text(json.dumps(info))
    info = json.loads(info_path.read_text())
    if "append_bulk_rate" not in info:
        info.update(append_rates(args.db, args.append))
        info_path.write_text(json.dumps(info))
    t0 = time.perf_counter()
    with Archive(args.db) as archive:  # the index is in sync (or is repaired), the schema migrated, before measuring
        assert search.index_in_sync(archive.db)
    print(f"archive opened (schema checked or migrated) in {time.perf_counter() - t0:,.1f} s", file=sys.stderr)
    size = sizes(args.db)
    queries = pick_queries(args.db, args.queries, args.one_char)
    results = measure(args.db, queries, args.reps, args.scans, args.port)
    table = report(info, size, queries, results, info["articles"])
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"build": info, "sizes": size, "queries": queries, "results": results,
                                         "table": table}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
