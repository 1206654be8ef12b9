"""Page resources (issue 18) on a distributed crawl (issue 13), and the run's settings reaching every part.

Workers find an article's resources (and what its stylesheets reference); the coordinator requests each
once a run, through the Redis frontier, and the one writer archives them: three workers capture what a
single-process crawl captures. The command line's settings reach the workers (-s GOVNEWS_PAGE_RESOURCES)
and the coordinator's frontier (--refresh-attachments) as they reach a single-process crawl.
"""

from __future__ import annotations

from collections import Counter

from tests.crawlkit import crawl, kind_of, q
from tests.redis_server import redis_url  # noqa: F401 - a fixture
from tests.test_distributed_captures import CZ, Machines, distributed_crawl


def resources(db) -> list[tuple]:
    return sorted(q(db, "SELECT url, kind, status, mime, size, payload_digest FROM captures "
                        "WHERE kind IN ('image', 'resource')"))


def run_counts(db) -> list[tuple]:
    return q(db, "SELECT resources, resource_bytes, attachments FROM crawl_runs ORDER BY id")


def attachment_requests(site, since: int) -> Counter:
    return Counter(r.path for r in site.requests[since:] if kind_of(r.path) == "attachment")


def test_three_workers_capture_the_page_resources_one_process_captures(fixture_server, redis_url, tmp_path):  # noqa: F811
    site = fixture_server.sites[CZ]
    single, dist = tmp_path / "single.db", tmp_path / "dist.db"
    crawl(fixture_server, CZ, single)
    bare, bare_dist = tmp_path / "bare.db", tmp_path / "bare-dist.db"
    crawl(fixture_server, CZ, bare, "-s", "GOVNEWS_PAGE_RESOURCES=false")
    machines = Machines(redis_url, tmp_path)
    try:
        done = distributed_crawl(redis_url, fixture_server, CZ, dist, tmp_path / "warc")
        assert done.returncode == 0, done.stderr[-3000:]
        # A setting given with -s reaches the workers: in-body images only, as in one process.
        off = distributed_crawl(redis_url, fixture_server, CZ, bare_dist, tmp_path / "warc",
                                "-s", "GOVNEWS_PAGE_RESOURCES=false")
        assert off.returncode == 0, off.stderr[-3000:]
        # --refresh-attachments reaches the coordinator's frontier: every archived attachment again.
        n = len(site.requests)
        crawl(fixture_server, CZ, single, "--refresh-attachments")
        by_one = attachment_requests(site, n)
        n = len(site.requests)
        again = distributed_crawl(redis_url, fixture_server, CZ, dist, tmp_path / "warc", "--refresh-attachments")
        assert again.returncode == 0, again.stderr[-3000:]
        by_three = attachment_requests(site, n)
    finally:
        machines.stop()
    captured = resources(single)
    assert {kind for _, kind, *_ in captured} == {"image", "resource"} and len(captured) > 30
    assert any(url.endswith(".css") for url, *_ in captured)
    assert resources(dist) == captured  # each once, the same bytes
    assert len({url for url, *_ in captured}) == len(captured)
    assert resources(bare_dist) == resources(bare)
    assert {kind for _, kind, *_ in resources(bare)} == {"image"}
    assert by_three == by_one and by_one and max(by_one.values()) == 1
    assert run_counts(dist) == run_counts(single)
