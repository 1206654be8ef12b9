"""URL rules (crawler.urls): one canonical URL per article, however a listing writes the link."""

from __future__ import annotations

from scrapy import Request

from crawler.urls import allowed_domains, canonical_url, clean_url, host_allowed, link_refusal, url_allowed


def test_non_ascii_and_spaces_are_escaped_as_scrapy_sends_them():
    # A listing may write the link raw or escaped: both are the URL Scrapy requests (issue 11, item 3).
    for raw in ("http://a.test/cjk/政策解读.html", "http://a.test/cjk/%E6%94%BF%E7%AD%96%E8%A7%A3%E8%AF%BB.html"):
        assert canonical_url(raw) == Request(raw).url == "http://a.test/cjk/%E6%94%BF%E7%AD%96%E8%A7%A3%E8%AF%BB.html"
    assert canonical_url("http://a.test/cjk/a b.html") == canonical_url("http://a.test/cjk/a%20b.html")
    assert canonical_url("http://a.test/it's.html") == Request("http://a.test/it's.html").url


def test_session_tracking_fragments_and_index_files_fold():
    base = "http://a.test/news/"
    for variant in ("http://A.TEST:80/news/index.html", "http://a.test/news/;jsessionid=ABC",
                    "http://a.test/news/?utm_source=x#top", "http://a.test/news/index.html?from=timeline"):
        assert canonical_url(variant) == base, variant
    assert clean_url("http://a.test/news/index.html") == "http://a.test/news/index.html"  # requested as linked
    assert canonical_url("http://a.test/news/?page=2") == "http://a.test/news/?page=2"  # a real parameter stays


def test_link_refusals():
    allowed = ["a.test"]
    assert link_refusal("http://www.a.test/x", allowed) is None and link_refusal("https://a.test/x", allowed) is None
    assert link_refusal("http://evil.test/x", allowed) == "offsite_link"
    assert link_refusal("javascript:alert(1)", allowed) == link_refusal("mailto:x@a.test", allowed) == "bad_link"
    assert host_allowed("sub.a.test", allowed) and not host_allowed("nota.test", allowed)


def test_hosts_are_host_and_port():
    # Issue 11, item 10: another port of an allowed host is another server.
    assert url_allowed("http://a.test/x", ["a.test"]) and url_allowed("https://a.test/x", ["a.test"])
    assert url_allowed("http://a.test:80/x", ["a.test"]) and url_allowed("http://www.a.test/x", ["a.test"])
    assert not url_allowed("http://a.test:8080/x", ["a.test"])
    assert url_allowed("http://127.0.0.1:4000/x", ["127.0.0.1:4000"])
    assert not url_allowed("http://127.0.0.1:4001/x", ["127.0.0.1:4000"])
    assert not url_allowed("http://127.0.0.1/x", ["127.0.0.1:4000"])
    assert not url_allowed("http://a.test:99999999/x", ["a.test"])  # not a port: refused, not a crash
    assert link_refusal("http://127.0.0.1:4001/x", ["127.0.0.1:4000"]) == "offsite_link"
    assert allowed_domains(["127.0.0.1:4000", "a.test"]) == ["127.0.0.1", "a.test"]
