"""Name redirect loops, off-site and non-http redirects as errors instead of silent drops."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from crawler.errors import PageRejected
from crawler.urls import canonical_url, clean_url, url_allowed

_REDIRECTS = {301, 302, 303, 307, 308}


class RedirectGuardMiddleware:
    """Sits just before RedirectMiddleware: name redirect loops and off-site redirects as errors.

    Off-site is host:port (crawler.urls.url_allowed): a redirect to another port of an allowed host
    is another server, refused like another host.

    Without it Scrapy drops both silently (the dupefilter eats a loop, the offsite filter eats the
    other host), so the article would vanish from the counts. A redirect to the same canonical URL
    (a server adding ;jsessionid=...) is followed even though its fingerprint was seen.
    """

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response, spider=None):
        if response.status not in _REDIRECTS or request.meta.get("dont_redirect"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = urljoin(request.url, location.decode("latin-1").strip())
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https"):
            raise PageRejected("bad_redirect", f"{request.url} -> {target}")
        allowed = getattr(self.crawler.spider, "allowed_hosts", None) or []  # host[:port] entries
        if not url_allowed(target, allowed) and not request.meta.get("allow_offsite"):
            raise PageRejected("offsite_redirect", f"{request.url} -> {target}")
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain or clean_url(target) in {clean_url(u) for u in chain[:-1]}:
            raise PageRejected("redirect_loop", " -> ".join([*chain, target]))
        if canonical_url(target) == canonical_url(request.url):
            request.dont_filter = True  # copied onto the redirected request by RedirectMiddleware
        return response
