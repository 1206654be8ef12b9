"""extract_article: one article page (bytes) to one normalized record. Pure; no Scrapy.

The work is done by the page object in page.py (one context per page, one method per field); this
is the function the spider, the CLI and the benchmark call.
"""

from __future__ import annotations

from collections.abc import Mapping

from .page import ArticlePage, content_hash


def extract_article(url: str, body: bytes, headers: Mapping | None = None,
                    overrides: dict | None = None) -> dict:
    """Extract the article record from page bytes. See the module contract in crawler/extract/__init__.py."""
    return ArticlePage.from_bytes(url, body, headers, overrides).to_item()


__all__ = ["content_hash", "extract_article"]
