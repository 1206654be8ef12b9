"""The frontier: for every URL a crawl meets, fetch it, skip it, or re-check it — decided from what the
archive knew when the run started (read once, by the archive writer) and what this run already asked for.

- an article listed for the first time is fetched; one already archived or listed is skipped (unless
  --refresh: then every archived article is re-requested, conditionally);
- articles listed but never archived (a killed run, a failed fetch under the attempt cap) are re-queued;
- attachments are downloaded once; those a killed run never got are re-queued;
- after a complete walk to a section's last page, archived articles it no longer lists are unlisted and
  re-checked conditionally (a page that still resolves is not taken for gone);
- through the browser or not: a section that says render = "browser" always; with "auto", a listing or
  article that plain HTTP answered with a shell is retried once in the browser and the section's pages
  of that kind go there for the rest of the run; the cookies a challenge earned are sent with plain
  requests to that host, and a challenge despite them sends that kind of the section to the browser too.

Pure: no Scrapy, no SQLite; a decision is data (Fetch) that the spider turns into a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GONE_STATUSES = (404, 410)


@dataclass
class Fetch:
    """One article or attachment to request."""

    url: str
    section: str | None
    check: str | None = None  # None (newly listed), "pending", "refresh" or "unlisted"
    headers: dict[str, str] = field(default_factory=dict)  # If-None-Match / If-Modified-Since
    archived: bool = False  # the archive holds it: 304 and 404/410 answers are outcomes, not errors


class Frontier:
    def __init__(self, state: dict, refresh: bool = False, attachments: bool = True,
                 render: dict[str, str] | None = None, refresh_attachments: bool = False) -> None:
        """`state` is archive.store.Archive.incremental_state() of the site, read at the run's start;
        `render` each section's render mode (crawler.sites.RENDER_MODES; "auto" when absent)."""
        self.state, self.refresh, self.attachments = state, refresh, attachments
        self.refresh_attachments = refresh_attachments  # download settled attachments again (changed files)
        self.requested: set[str] = set()  # article and attachment URLs this run asked for
        self.render_modes = dict(render or {})
        self.rendered: set[tuple[str | None, str]] = set()  # (section, "listing" | "article") sent to the browser
        self.cookies: dict[str, str] = {}  # host -> Cookie header a browser-passed challenge earned

    # -- the browser --------------------------------------------------------------------------------
    def in_browser(self, section: str | None, kind: str) -> bool:
        """Whether a request of this kind ("listing", "article") for the section goes through the browser."""
        mode = self.render_modes.get(section, "auto")
        return mode == "browser" or (mode == "auto" and (section, kind) in self.rendered)

    def may_render(self, section: str | None) -> bool:
        return self.render_modes.get(section, "auto") != "http"

    def needs_browser(self, section: str | None, kind: str, host: str, challenge: bool, had_cookie: bool) -> None:
        """Plain HTTP got a shell (or a challenge) for this kind of the section's pages: remember it.

        A challenge alone is remembered as the host's cookie (see earned); one that came despite the
        cookie means the cookie no longer works: the host's cookie is dropped and the kind goes to the browser."""
        if challenge:
            self.cookies.pop(host, None)
        if not challenge or had_cookie:
            self.rendered.add((section, kind))

    def earned(self, host: str, cookies: str) -> None:
        """The cookies (document.cookie) a page had after the browser passed its challenge."""
        if cookies:
            self.cookies[host] = cookies

    def cookie(self, host: str) -> str | None:
        return self.cookies.get(host)

    # -- articles -----------------------------------------------------------------------------------
    def is_known(self, url: str) -> bool:
        return url in self.state["known"]

    def all_known(self, urls: list[str]) -> bool:
        return bool(urls) and all(u in self.state["known"] for u in urls)

    def walk_was_complete(self, section: str) -> bool:
        info = self.state["sections"].get(section)
        return bool(info) and info["walk_status"] == "complete"

    def listed(self, url: str, section: str) -> Fetch | None:
        """An article link on a listing page: a Fetch, or None when the archive has it or it is asked for."""
        if url in self.state["known"] or url in self.requested:
            return None
        self.requested.add(url)
        return Fetch(url, section)

    def known(self, url: str, section: str | None, check: str, conditional: bool) -> Fetch:
        """A request for an article the archive knows of (pending, refresh or unlisted re-check)."""
        self.requested.add(url)
        info = self.state["archived"].get(url) or {}
        headers = {}
        if conditional and info.get("etag"):
            headers["If-None-Match"] = info["etag"]
        if conditional and info.get("last_modified"):
            headers["If-Modified-Since"] = info["last_modified"]
        return Fetch(url, section, check, headers, archived=url in self.state["archived"])

    def at_start(self) -> list[Fetch]:
        """What to request beside the section listings: re-queued articles and attachments, refreshes."""
        out = [self.known(url, section, "pending", conditional=False)
               for url, section in self.state["pending"].items() if url not in self.requested]
        for url, article in self.state["attachments_pending"].items():
            section = (self.state["archived"].get(article) or {}).get("section")
            out.extend(self.attachment_fetches([url], section))
        if self.refresh_attachments and self.attachments:  # a file replaced at the same URL: a new version
            for url in sorted(self.state["attachments_done"] - self.requested):
                self.requested.add(url)
                out.append(Fetch(url, None, "attachment"))
        if self.refresh:
            out.extend(self.known(url, info["section"], "refresh", conditional=True)
                       for url, info in self.state["archived"].items() if url not in self.requested)
        return out

    # -- attachments --------------------------------------------------------------------------------
    def attachment_fetches(self, urls: list[str], section: str | None) -> list[Fetch]:
        """Attachments to download: http(s), not settled in the archive, not asked for in this run."""
        if not self.attachments:
            return []
        out = []
        for url in urls:
            if not url or url in self.state["attachments_done"] or url in self.requested or \
                    not url.startswith(("http://", "https://")):
                continue
            self.requested.add(url)
            out.append(Fetch(url, section, "attachment"))
        return out

    # -- the end of a walk --------------------------------------------------------------------------
    def unlisted(self, section: str, listed: set[str]) -> list[str]:
        """After a complete walk to the last page: the articles the section listed before but not now."""
        return sorted(self.state["links"].get(section, set()) - listed)

    def recheck_unlisted(self, section: str, urls: list[str]) -> list[Fetch]:
        return [self.known(u, section, "unlisted", conditional=True)
                for u in urls if u not in self.requested and u in self.state["archived"]]
