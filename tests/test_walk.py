"""The walk controller (crawler.walk): every stop rule and reason, without Scrapy or a server."""

from __future__ import annotations

from crawler.walk import WalkController

S = "要闻"


def page(n: int, ids: list[int], next_page: int | None = None, **extra) -> dict:
    return {"items": [{"url": f"http://a.test/art/{i}.html"} for i in ids],
            "next_page": f"http://a.test/list_{next_page}.html" if next_page else None, **extra}


def walk_pages(walk: WalkController, pages: list[dict], **kw):
    """Feed pages 1..n as the walk asks for them; return the requests asked for and the last step."""
    walk.start(S, "http://a.test/list_1.html")
    asked, step = [], None
    for n, result in enumerate(pages, start=1):
        step = walk.listing(S, f"http://a.test/list_{n}.html", n, result, **kw)
        asked.append([r["url"] for r in step.requests])
        if not step.requests:
            break
    return asked, step


def test_walks_to_the_last_page_and_ends_complete():
    asked, step = walk_pages(WalkController(), [page(1, [1, 2], 2), page(2, [3, 4], 3), page(3, [5])])
    assert asked == [["http://a.test/list_2.html"], ["http://a.test/list_3.html"], []]
    assert step.ended and step.ended.stop == "last page" and step.ended.complete and step.ended.reached_end
    assert len(step.ended.listed) == 5 and not step.errors


def test_a_page_repeating_an_earlier_one_stops_the_walk():
    walk = WalkController()
    walk.start(S, "http://a.test/list.html?p=1")
    walk.listing(S, "http://a.test/list.html?p=1", 1, {**page(1, [1, 2]), "next_page": "http://a.test/list.html?p=2"})
    step = walk.listing(S, "http://a.test/list.html?p=2", 2, {**page(2, [1, 2]), "next_page": "http://a.test/list.html?p=3"})
    assert step.requests == [] and step.ended.stop == "page repeats an earlier page"
    assert step.errors == ["listing_trap"]  # it also lists nothing new: reported as a trap


def test_a_page_listing_only_seen_articles_is_a_trap():
    asked, step = walk_pages(WalkController(), [page(1, [1, 2], 2), page(2, [2, 1], 3)])
    assert asked[-1] == [] and step.ended.stop == "listing trap" and step.errors == ["listing_trap"]
    assert step.ended.complete and step.ended.reached_end  # a trap cut short is still a complete walk


def test_the_first_data_answer_may_repeat_the_embedded_records():
    walk = WalkController()
    walk.start(S, "http://a.test/col.html")
    walk.listing(S, "http://a.test/col.html", 1, {**page(1, [1, 2]), "requests": [
        {"url": "http://a.test/dataproxy.jsp", "method": "POST", "body": "page=1"}]})
    step = walk.listing(S, "http://a.test/dataproxy.jsp", 2, {**page(2, [1, 2], 3), "mechanism": "hanweb-dataproxy"})
    assert step.errors == [] and step.requests


def test_the_one_page_cap_is_a_listing_page_cap_error_and_an_incomplete_walk():
    pages = [page(n, [n], n + 1) for n in range(1, 10)]
    asked, step = walk_pages(WalkController(max_pages=4), pages)
    assert len(asked) == 4 and step.errors == ["listing_page_cap"]
    assert step.ended.stop == "page cap 4" and not step.ended.complete and not step.ended.reached_end


def test_pages_option_cuts_and_says_so():
    asked, step = walk_pages(WalkController(pages=2), [page(1, [1], 2), page(2, [2], 3), page(3, [3])])
    assert len(asked) == 2 and step.ended.stop == "--pages 2"
    assert not step.ended.complete and not step.ended.reached_end  # unknown items may lie beyond
    _, step = walk_pages(WalkController(pages=2), [page(1, [1], 2), page(2, [2], 3)], all_known=True)
    assert step.ended.complete and not step.ended.reached_end  # cut where everything was known


def test_all_known_stops_an_incremental_walk_only_after_a_complete_one():
    _, step = walk_pages(WalkController(), [page(1, [1], 2), page(2, [2])], all_known=True, may_stop_early=True)
    assert step.ended.stop == "all known" and step.ended.complete and not step.ended.reached_end
    asked, step = walk_pages(WalkController(), [page(1, [1], 2), page(2, [2])], all_known=True, may_stop_early=False)
    assert asked[0] and step.ended.stop == "last page"  # the previous walk was cut: walk on to the end
    asked, step = walk_pages(WalkController(full=True), [page(1, [1], 2), page(2, [2])], all_known=True,
                             may_stop_early=True)
    assert asked[0] and step.ended.stop == "last page"  # --full


def test_two_barren_pages_stop_it():
    walk = WalkController()
    walk.start(S, "http://a.test/l1")
    walk.listing(S, "http://a.test/l1", 1, {"items": [], "next_page": "http://a.test/l2"})
    step = walk.listing(S, "http://a.test/l2", 2, {"items": [], "next_page": "http://a.test/l3"})
    assert step.ended.stop == "no new articles on two pages in a row"
    walk = WalkController()
    walk.start(S, "http://a.test/l1")
    walk.listing(S, "http://a.test/l1", 1, {"items": [], "next_page": "http://a.test/l2"})
    assert walk.walks[S].barren == 1


def test_the_walk_ends_when_its_last_listing_request_is_done_in_any_order():
    walk = WalkController()
    walk.start(S, "http://a.test/col")
    step = walk.listing(S, "http://a.test/col", 1, {**page(1, [1]), "requests": [
        {"url": "http://a.test/d?p=1"}, {"url": "http://a.test/d?p=2"}]})
    assert len(step.requests) == 2 and step.ended is None
    assert walk.failed(S) is None  # one of the two failed: the other is still in flight
    step = walk.listing(S, "http://a.test/d?p=2", 2, page(2, [2]))
    assert step.ended and not step.ended.complete and step.ended.stop == "a listing page failed"


def test_the_same_request_is_never_asked_twice_in_a_walk():
    walk = WalkController()
    walk.start(S, "http://a.test/list_1.html")
    step = walk.listing(S, "http://a.test/list_1.html", 1, {**page(1, [1]), "requests": [
        {"url": "http://a.test/list_1.html"}, {"url": "http://a.test/list_2.html"},
        {"url": "http://a.test/list_2.html#top"}]})
    assert [r["url"] for r in step.requests] == ["http://a.test/list_2.html"]
