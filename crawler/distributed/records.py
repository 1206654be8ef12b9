"""What a worker sends the coordinator: one Envelope per request it was given (crawler.items inside).

The coordinator decides what follows a listing page or an article (the walk, the frontier) and which
page resources to request, so a worker sends those as results to decide on, not as decisions."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.items import CrawlError
from crawler.resources import Resource
from crawler.sites import Section


@dataclass
class ListingResult:
    section: Section
    url: str
    page: int
    listing: dict  # crawler.listing.extract_listing's result


@dataclass
class ListingFailed:
    section: str


@dataclass
class ArticleResult:
    section: Section
    record: dict


@dataclass
class ResourceWanted:
    """A page resource the worker found (in an article page or a stylesheet): the coordinator makes
    the request (once a run, as Scrapy's duplicate filter does in one process) and queues it."""

    resource: Resource
    section: str | None
    depth: int


@dataclass
class Envelope:
    token: str  # the coordinator's id of the request this answers
    items: list = field(default_factory=list)  # crawler.items and the results above
    captures: list[tuple] = field(default_factory=list)  # (url, kind, status, mime, size, Capture) per hop
    worker: str = ""
    held: str | None = None  # its field in held:<worker>, removed when the envelope is sent


__all__ = ["ArticleResult", "CrawlError", "Envelope", "ListingFailed", "ListingResult", "ResourceWanted"]
