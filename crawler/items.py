"""What the spider yields: one dataclass per kind, all written by the one pipeline (crawler.writer).

Every outcome travels as one of these: a listing page (section membership), an article record, a
conditional refetch answered 304, an article gone missing, an attachment download, a page resource fetched, a crawl error (every
refusal and failure, by kind: crawler.errors says which kinds are failures), and the end of a section's
listing walk with its stop reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ListingPage:
    section: str
    url: str
    page: int
    items: list[dict]  # {"url": canonical article URL, "title", "date", ...}
    mechanism: str | None = None
    total_pages: int | None = None
    browser: bool = False  # fetched (rendered) by the browser


@dataclass
class Article:
    section: str
    record: dict  # crawler.extract's record, plus url, site, fetch and capture fields


@dataclass
class NotModified:
    """A conditional refetch of an archived article answered 304."""

    section: str
    url: str


@dataclass
class Missing:
    """An archived article answered 404/410 or redirected to an index page (gone on the second run)."""

    section: str
    url: str
    status: int
    final_url: str


@dataclass
class AttachmentFile:
    section: str | None
    url: str
    status: str  # "ok", "too_large" or an error kind
    mime: str | None = None
    size: int | None = None
    sha256: str | None = None
    capture: dict = field(default_factory=dict)  # WARC pointer (warc_file, warc_offset, ...)


@dataclass
class PageResource:
    """A page resource of an archived article fetched (crawler.resources): counted; its capture row
    was written by the capture middleware like every response's."""

    section: str | None
    url: str
    kind: str  # "image" (in the article's body) or "resource"
    size: int = 0


@dataclass
class CrawlError:
    section: str | None
    url: str
    error: str  # the kind: crawler.errors.is_failure says whether it fails the run
    what: str | None = None  # "listing", "article", "attachment", ...
    detail: str | None = None


@dataclass
class WalkEnded:
    """A section's last listing request is done (crawler.walk decided how the walk ended)."""

    section: str
    stop: str  # the stop reason, reported per section in crawl_runs.sections
    complete: bool  # no listing failed and no cap cut it with unknown items left
    reached_end: bool  # walked to the last page (not stopped early): what it did not list is unlisted
    listed: set[str] = field(default_factory=set)  # every article URL the walk listed
    stated_items: int | None = None  # the section's size as its listing states it (crawler/listing/totals.py)
    stated_pages: int | None = None
    pages: int = 0  # listing pages walked
