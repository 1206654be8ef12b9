"""The crawl benchmark (bench/crawl.py) at a small scale: a regression guard without timing assertions.

Same measurement as the on-demand benchmark: a generated site served by the pre-forked fast server,
a bare Scrapy spider and our crawl fetching the same URLs, then a re-crawl of the unchanged site.
"""

from __future__ import annotations

from bench.crawl import measure

ARTICLES, SECTIONS = 200, 2


def test_small_scale_crawl_benchmark(tmp_path):
    r = measure(ARTICLES, SECTIONS, concurrency=8, server_procs=1, workdir=tmp_path,
                variants=[{}, {"GOVNEWS_EXTRACT_PROCESSES": 2}])
    assert r["bare"]["responses"] == [r["expected_requests"]] and r["bare"]["rate"] > 0
    for ours in r["ours"]:  # inline extraction, then two extraction worker processes
        # Our crawl requested exactly the pages the bare spider did: robots.txt, listing pages, articles.
        assert ours["responses"] == [r["expected_requests"]], ours["settings"]
        assert ours["archived"] == [ARTICLES] and ours["rate"] > 0
        # Memory and archive size stay sane (generous ceilings: they catch leaks and blow-ups, not noise).
        assert 0 < ours["rss_mb"] < 400
        assert 1024 < ours["bytes_per_article"] < 64 * 1024
    # The re-crawl of the unchanged site duplicated nothing and requested no more than the first crawl.
    noop = r["ours"][0]
    assert noop["archived_after_noop"] == [ARTICLES]
    assert noop["noop_responses"] and noop["noop_responses"][0] <= r["expected_requests"]
