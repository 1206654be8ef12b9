"""The crawl benchmark (bench/crawl.py) at a small scale: a regression guard without timing assertions.

Same measurement as the on-demand benchmark: a generated site served by the pre-forked fast server,
a bare Scrapy spider and our crawl fetching the same URLs, then a re-crawl of the unchanged site.
"""

from __future__ import annotations

from bench.crawl import measure

ARTICLES, SECTIONS = 240, 3


def test_small_scale_crawl_benchmark(tmp_path):
    r = measure(ARTICLES, SECTIONS, concurrency=8, server_procs=1, workdir=tmp_path)
    # Both crawls requested exactly the same pages: robots.txt, every listing page, every article.
    assert r["bare_responses"] == r["ours_responses"] == [r["expected_requests"]]
    assert r["archived"] == [ARTICLES]
    assert r["bare_rate"] > 0 and r["ours_rate"] > 0
    # Memory and archive size stay sane (generous ceilings: they catch leaks and blow-ups, not noise).
    assert 0 < r["ours_rss_mb"] < 400
    assert 1024 < r["bytes_per_article"] < 64 * 1024
    # The re-crawl of the unchanged site duplicated nothing and requested no more than the first crawl.
    assert r["archived_after_noop"] == [ARTICLES]
    assert r["noop_responses"] and r["noop_responses"][0] <= r["expected_requests"]
