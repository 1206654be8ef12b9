"""Page resource URL extraction (crawler/resources.py): pure functions, no network."""

from crawler.resources import css_resource_urls, page_resource_urls

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
