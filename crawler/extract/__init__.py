"""Article extraction: `extract_article(url, body, headers=None, overrides=None) -> dict`.

A pure function of the page bytes (no Scrapy). The record has the keys url, title, published (ISO 8601,
with +08:00 when the page shows a time), source, author, body (one paragraph per line), breadcrumb,
attachments [{"url", "text"}], images [{"url", "alt"}] (absolute URLs), written_date (成文日期),
index_no, doc_no, issuer, topic, xxgk (the 政府信息公开 table, label -> value), encoding, family (the
CMS family whose markup located the body, or "density"/"override"), field_sources (field -> where its
value came from: label:header, table, meta, url, override, a title's evidence, the body's family),
quality_flags (no_date, no_title, empty_body, link_body, meta_body, site_title; see quality.py) and
content_hash.

`overrides` holds per-site selectors as data (from the site TOML): {"title", "body", "date", "source"},
each a CSS selector or an XPath (starting with "/").

The work is done by the page object `ArticlePage` (page.py): one context built once per page, one
method per field, each recording where its value came from (`provenance`). Fixture cases
(`<case>/{page.*, meta.json, expected.json}`, cases.py) pin the output.
"""

from .article import content_hash, extract_article
from .page import ArticlePage, PageContext

__all__ = ["ArticlePage", "PageContext", "content_hash", "extract_article"]
