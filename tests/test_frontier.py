"""The frontier (crawler.frontier): fetch, skip, re-queue, refresh, unlisted — from a state like the one
archive.store.Archive.incremental_state() returns, without Scrapy or SQLite."""

from __future__ import annotations

from crawler.frontier import Frontier

A, B, C, P = (f"http://a.test/art/{n}.html" for n in ("a", "b", "c", "pending"))


def state(**over) -> dict:
    s = {"sections": {"要闻": {"id": 1, "walk_status": "complete"}, "通知": {"id": 2, "walk_status": "walking"}},
         "archived": {A: {"etag": '"e1"', "last_modified": "Mon, 01 Jan 2024 00:00:00 GMT", "section": "要闻"},
                      B: {"etag": None, "last_modified": None, "section": "通知"}},
         "links": {"要闻": {A, B}, "通知": {B}}, "pending": {P: "要闻"},
         "attachments_done": {"http://a.test/f/done.pdf"},
         "attachments_pending": {"http://a.test/f/left.pdf": A}}
    s.update(over)
    s["known"] = set(s["archived"]) | {P}
    return s


def test_new_links_are_fetched_once_and_known_ones_skipped():
    f = Frontier(state())
    assert f.listed(A, "要闻") is None and f.listed(P, "要闻") is None
    fetch = f.listed(C, "要闻")
    assert fetch.url == C and fetch.check is None and not fetch.archived
    assert f.listed(C, "通知") is None  # listed in a second section: asked for once


def test_at_start_requeues_pending_articles_and_attachments():
    fetches = Frontier(state()).at_start()
    assert [(x.url, x.check) for x in fetches] == [(P, "pending"), ("http://a.test/f/left.pdf", "attachment")]
    assert fetches[0].headers == {}  # never archived: not conditional


def test_refresh_rechecks_every_archived_article_conditionally():
    fetches = {x.url: x for x in Frontier(state(), refresh=True).at_start()}
    assert fetches[A].check == "refresh" and fetches[A].archived
    assert fetches[A].headers == {"If-None-Match": '"e1"', "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}
    assert fetches[B].headers == {}  # no validators stored: a plain refetch


def test_attachments_downloaded_once_http_only():
    f = Frontier(state())
    got = f.attachment_fetches(["http://a.test/f/done.pdf", "http://a.test/f/new.pdf", "http://a.test/f/new.pdf",
                                "javascript:alert(1)", "ftp://a.test/x", ""], "要闻")
    assert [x.url for x in got] == ["http://a.test/f/new.pdf"]
    assert Frontier(state(), attachments=False).attachment_fetches(["http://a.test/f/new.pdf"], "要闻") == []


def test_walk_state_and_known_pages():
    f = Frontier(state())
    assert f.walk_was_complete("要闻") and not f.walk_was_complete("通知") and not f.walk_was_complete("新栏目")
    assert f.all_known([A, P]) and not f.all_known([A, C]) and not f.all_known([])


def test_unlisted_after_a_complete_walk_are_rechecked_conditionally():
    f = Frontier(state())
    assert f.unlisted("要闻", {A}) == [B]
    fetches = f.recheck_unlisted("要闻", [B, "http://a.test/never-archived"])
    assert [(x.url, x.check, x.archived) for x in fetches] == [(B, "unlisted", True)]
    assert f.recheck_unlisted("要闻", [B]) == []  # asked for once


def test_browser_memory_per_section_and_kind_and_challenge_cookies_per_host():
    f = Frontier(state(), render={"要闻": "auto", "通知": "browser", "旧闻": "http"})
    assert not f.in_browser("要闻", "listing") and f.in_browser("通知", "listing") and f.in_browser("通知", "article")
    assert not f.may_render("旧闻") and f.may_render("要闻") and f.may_render("未列出")
    f.needs_browser("要闻", "listing", "a.test", challenge=False, had_cookie=False)  # a script shell
    assert f.in_browser("要闻", "listing") and not f.in_browser("要闻", "article")
    # A challenge is remembered as the cookie the browser earned, sent with plain requests...
    f.needs_browser("要闻", "article", "a.test", challenge=True, had_cookie=False)
    assert not f.in_browser("要闻", "article")
    f.earned("a.test", "gn=1")
    assert f.cookie("a.test") == "gn=1" and f.cookie("b.test") is None
    # ...until a challenge comes despite it: the cookie is dropped and the kind goes to the browser.
    f.needs_browser("要闻", "article", "a.test", challenge=True, had_cookie=True)
    assert f.cookie("a.test") is None and f.in_browser("要闻", "article")
    f.earned("a.test", "")
    assert f.cookie("a.test") is None
