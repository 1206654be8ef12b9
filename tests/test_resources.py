"""Page resources (crawler/resources.py): URL extraction (pure functions), then real crawls of the
fixture sites capturing in-body images, stylesheets, scripts and what the stylesheets reference."""

import json
import subprocess
import sys
import threading
import zipfile
from urllib.parse import urlsplit

from archive.warc import payload_digest
from crawler.resources import css_resource_urls, page_resource_urls
from fixtures.assets import ASSETS
from fixtures.server import FixtureServer, FixtureSite, Reply
from fixtures.sites.changzhou import image_files
from tests.conftest import REPO, govnews
from tests.crawlkit import add_changzhou_articles, changzhou_url, crawl, q, request_counts

CZ = "fixture-changzhou"

PAGE = """<html><head><base href="/news/">
<link rel="stylesheet" href="../css/site.css"><link rel="alternate" href="/feed.xml">
<script src="js/app.js"></script><style>.b{background:url('img/bg.png')}</style></head>
<body><img src="a.jpg"><img data-src="lazy.jpg" src="data:image/gif;base64,AAAA">
<img srcset="s1.jpg 1x, s2.jpg 2x"><div style="background-image:url(&quot;d.png&quot;)">x</div>
<a href="doc.pdf">attachment</a><img src="javascript:alert(1)"><img src="a.jpg#x">
<img src="https://cdn.example/c.png"></body></html>"""


def test_page_resources_in_order_absolute_deduplicated() -> None:
    urls = page_resource_urls("http://127.0.0.1:8000/a/b.html", PAGE.encode())
    base = "http://127.0.0.1:8000"
    assert urls == [
        f"{base}/news/a.jpg", f"{base}/news/lazy.jpg", f"{base}/news/s1.jpg",
        f"{base}/news/s2.jpg", "https://cdn.example/c.png", f"{base}/css/site.css",
        f"{base}/news/js/app.js", f"{base}/news/img/bg.png", f"{base}/news/d.png",
    ]


def test_css_urls_and_imports_resolve_against_stylesheet() -> None:
    css = "@import 'base.css'; body{background:url(../img/bg.png)} i{src:url(data:font/woff;x)}"
    assert css_resource_urls("http://h/css/site.css", css) == [
        "http://h/css/base.css", "http://h/img/bg.png",
    ]


def test_empty_or_broken_input_gives_nothing() -> None:
    assert page_resource_urls("http://h/", b"") == []
    assert page_resource_urls("http://h/", b"   ") == []
    assert page_resource_urls("http://h/", b"\xff\xfe<<<") == []


# -- end to end: real crawls over HTTP of the fixture sites ------------------------------------------------

def _served(site, url: str) -> bytes:
    """What the fixture site answers for `url` (its pages, or the template's assets)."""
    path = urlsplit(url).path
    if path in site.pages:
        return site.pages[path].body
    return ASSETS[path][1]


def _resource_paths(site) -> list[str]:
    return [r.path for r in site.requests if r.path.startswith(("/uploadfile/", "/css/", "/js/", "/images/"))
            and not r.path.endswith((".pdf", ".doc"))]


def test_crawl_captures_every_articles_images_and_page_resources_once(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    db = tmp_path / "a.db"
    assert crawl(fixture_server, CZ, db).returncode == 0
    base = site.base_url.rstrip("/")
    # Every article's in-body images: the plain src, and a lazy image's data-src and each srcset entry.
    wanted = {f"{base}{p}" for a in site.articles.values() for p in image_files(a)}
    assert len(wanted) > 30 and any("/2x/" in u for u in wanted)
    images = {url: (status, digest) for url, status, digest in q(
        db, "SELECT url, status, payload_digest FROM captures WHERE kind = 'image'")}
    assert set(images) == wanted
    for url, (status, digest) in images.items():
        assert status == 200 and digest == payload_digest(_served(site, url)), url
    # The page's stylesheet, scripts and template images, and the background image only the CSS names.
    page = {url for (url,) in q(db, "SELECT url FROM captures WHERE kind = 'resource' AND status = 200")}
    assert page == {f"{base}{p}" for p in ("/css/style.css", "/js/jquery.js", "/images/logo.png",
                                          "/images/qrcode.png", "/images/bg.png")}
    # Each fetched once in the run, however many articles share it; counted in crawl_runs.
    paths = _resource_paths(site)
    assert len(paths) == len(set(paths)) == len(wanted) + len(page)
    resources, errors, status = q(db, "SELECT resources, errors, status FROM crawl_runs")[0]
    assert (resources, json.loads(errors), status) == (len(wanted) + len(page), {}, "ok")

    # The WACZ export carries them: indexed, and valid (pages.jsonl: the articles, with their titles).
    wacz = tmp_path / "a.wacz"
    govnews("export", "wacz", "--db", str(db), "-o", str(wacz), check=True)
    v = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(wacz)], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    with zipfile.ZipFile(wacz) as z:
        indexed = {json.loads(line.split(" ", 2)[2])["url"] for line in z.read("indexes/index.cdx").decode().splitlines()}
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").decode().splitlines()[1:]]
    assert wanted | page <= indexed
    titles = dict(q(db, "SELECT url, title FROM articles"))
    assert {p["url"]: p["title"] for p in pages} == titles

    # A second crawl of the unchanged site fetches no resource (nor article): listing pages only.
    site.requests.clear()
    crawl(fixture_server, CZ, db)
    assert request_counts(site) == {"listing": 3, "robots": 1}

    # An article edited and one new article sharing the template: what is fetched again and unchanged is
    # a revisit record, never a second copy of the payload.
    edited = next(a for a in site.articles.values() if a.images)
    edited.paragraphs = [*edited.paragraphs, "此稿件于发布后作了补充。"]
    add_changzhou_articles(site, "bmdt", 1)
    site.render()
    site.requests.clear()
    crawl(fixture_server, CZ, db, "--refresh")
    again = q(db, "SELECT url, revisit_of IS NOT NULL FROM captures WHERE run_id = 3 AND kind IN ('image', 'resource')")
    assert {u for u, _ in again} >= {f"{base}{p}" for p in image_files(edited)} | page
    assert all(revisit for _, revisit in again), again
    for url, _ in again:  # one full record per payload in the whole archive
        assert q(db, "SELECT count(*) FROM captures WHERE url = ? AND revisit_of IS NULL", [url]) == [(1,)]


def test_failing_resources_are_counted_and_the_article_archived(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    held = threading.Event()
    a404, ahang = [a for a in site.articles.values() if a.images][:2]
    del site.pages[f"/uploadfile/{a404.images[0][0]}"]  # a dead image link
    hang_path = f"/uploadfile/{ahang.images[0][0]}"

    def hang(req):
        if req.path == hang_path:
            held.wait(60)  # never answers within the resource timeout
        return None

    site.handlers.append(hang)
    db = tmp_path / "a.db"
    try:
        done = crawl(fixture_server, CZ, db, "-s", "GOVNEWS_RESOURCE_TIMEOUT=1", "-s", "RETRY_TIMES=0")
    finally:
        held.set()
    assert done.returncode == 0, done.stderr[-2000:]
    status, errors, failed = q(db, "SELECT status, errors, failed FROM crawl_runs")[0]
    errors = json.loads(errors)
    assert status == "ok" and failed == 0
    assert errors.get("resource_http_404") == 1 and errors.get("resource_timeout") == 1, errors
    urls = {u for (u,) in q(db, "SELECT url FROM articles")}
    assert {changzhou_url(site, a404.id), changzhou_url(site, ahang.id)} <= urls
    assert len(urls) == len(site.articles)


def test_page_resources_off_keeps_the_body_images(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    db = tmp_path / "a.db"
    crawl(fixture_server, CZ, db, "-s", "GOVNEWS_PAGE_RESOURCES=false")
    assert q(db, "SELECT count(*) FROM captures WHERE kind = 'resource'") == [(0,)]
    assert q(db, "SELECT count(*) FROM captures WHERE kind = 'image'")[0][0] > 30
    assert not [p for p in _resource_paths(site) if not p.startswith("/uploadfile/")]


def test_cdn_hosts_only_when_the_site_lists_them(fixture_server, tmp_path):
    class Cdn(FixtureSite):
        name = "cdn"

        def build(self, base_url: str) -> None:
            self.pages["/robots.txt"] = Reply(b"User-agent: *\nAllow: /\n", 200, [("Content-Type", "text/plain")])
            self.pages["/pic/banner.png"] = Reply(b"\x89PNG cdn banner", 200, [("Content-Type", "image/png")])

    site = fixture_server.sites[CZ]
    with FixtureServer([Cdn()], host="127.0.0.3") as cdn_server:
        cdn = cdn_server.sites["cdn"]
        banner = f"{cdn.base_url}pic/banner.png"
        art = next(iter(site.articles.values()))
        path = f"/ns_news/{art.id}"
        page = site.pages[path]
        site.pages[path] = Reply(page.body.replace(b'<td id="czfxfontzoom" class="NewsContent">',
                                                   f'<td id="czfxfontzoom" class="NewsContent"><p><img src="{banner}"></p>'
                                                   .encode()), 200, page.headers)
        crawl(fixture_server, CZ, tmp_path / "a.db")
        assert cdn.requests == []  # same site only by default
        toml = (REPO / "crawler/sites/fixture-changzhou.toml").read_text(encoding="utf-8")
        listed = tmp_path / "cz-cdn.toml"
        listed.write_text(toml.replace("fixture = true", f'fixture = true\nresource_hosts = ["{urlsplit(banner).netloc}"]'),
                          encoding="utf-8")
        db = tmp_path / "b.db"
        govnews("crawl", "--site", str(listed), "--base-url", site.base_url, "--db", str(db), check=True)
        assert [r.path for r in cdn.requests] == ["/robots.txt", "/pic/banner.png"]  # robots.txt obeyed there too
        assert q(db, "SELECT kind, status, payload_digest FROM captures WHERE url = ?", [banner]) == [
            ("image", 200, payload_digest(b"\x89PNG cdn banner"))]


def test_a_failed_resource_is_tried_again_by_the_next_runs_within_the_cap(fixture_server, tmp_path):
    """An unchanged article is not read again, so its failed resources would never be: the next runs ask
    for them again (GOVNEWS_MAX_ATTEMPTS runs in all, like a failed article), and one that now answers is
    captured and its failure resolved."""
    site = fixture_server.sites[CZ]
    base = site.base_url.rstrip("/")
    gone, back = [a for a in site.articles.values() if a.images][:2]
    gone_path, back_path = f"/uploadfile/{gone.images[0][0]}", f"/uploadfile/{back.images[0][0]}"
    del site.pages[gone_path]  # 404 on every run
    saved = site.pages.pop(back_path)  # 404 on the first run only
    db = tmp_path / "a.db"
    assert crawl(fixture_server, CZ, db).returncode == 0
    assert json.loads(q(db, "SELECT errors FROM crawl_runs")[0][0]).get("resource_http_404") == 2
    site.pages[back_path] = saved
    asked = []
    for run in (2, 3, 4):
        site.requests.clear()
        assert crawl(fixture_server, CZ, db).returncode == 0
        asked.append(sorted(r.path for r in site.requests if r.path in (gone_path, back_path)))
        if run == 2:  # the one that answers now is captured, as an in-body image
            assert q(db, "SELECT kind, status FROM captures WHERE url = ? AND run_id = 2", [base + back_path]) == \
                [("image", 200)]
    assert asked == [sorted([gone_path, back_path]), [gone_path], []]
    failures = dict(q(db, "SELECT url, attempts || ' ' || coalesce(resolved_run, '-') FROM fetch_failures"))
    assert failures == {base + gone_path: "3 -", base + back_path: "1 2"}
    status, failed = q(db, "SELECT status, failed FROM crawl_runs WHERE id = 4")[0]
    assert status == "ok" and failed == 0
