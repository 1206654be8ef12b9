"""What a page says about itself outside its visible text: <meta> tags and CMS property comments."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from . import dates
from .dom import collapse

META_PUBLISHED = ("pubdate", "publishdate", "firstpublishedtime", "article:published_time", "publishtime",
                  "publish_time", "published", "published_time", "releasedate", "releasetime", "dcterms.issued",
                  "dc.date.issued", "dc.date", "og:release_date")
_ENP = re.compile(r"<(\w+)>(.*?)</\1>", re.S)


def read_meta(root) -> dict[str, str]:
    """<meta> name/property/itemprop (lower-cased) -> content, first occurrence wins."""
    out: dict[str, str] = {}
    for m in root.iter("meta"):
        key = (m.get("name") or m.get("property") or m.get("itemprop") or "").strip().lower()
        val = collapse(m.get("content"))
        if key and val and key not in out:
            out[key] = val
    return out


def enp_property(root) -> dict[str, str]:
    """Enorth ENP's <!--enpproperty <date>…</date><title>…</title>…--> comment."""
    for c in root.iter(etree.Comment):
        t = c.text or ""
        if t.lstrip().startswith("enpproperty"):
            return {k.lower(): collapse(v) for k, v in _ENP.findall(t)}
    return {}


def generation_stamp(meta: Mapping):
    """When the CMS generated this copy of the page, if it says so (页面生成时间 / Maketime)."""
    others = meta.get("others") or ""
    if "生成" in others:
        return dates.first_date(others)
    return dates.first_date(meta.get("maketime"))


def published(meta: Mapping, enp: Mapping, url: str) -> tuple[str | None, str | None]:
    """(date, origin) when the page shows no date: the CMS's own publication metadata (date part: the
    time there is often a stamp), unless it is merely when a regenerating CMS last wrote the page
    (页面生成时间) and the URL keeps the original date; then the date in the URL path."""
    stamp = generation_stamp(meta)
    from_url = dates.date_from_url(url)
    for key in META_PUBLISHED:
        f = dates.first_date(meta.get(key))
        if f:
            if stamp and from_url and (f.day, (f.time or "")[:5]) == (stamp.day, (stamp.time or "")[:5]) \
                    and from_url != f.day.isoformat():
                return from_url, "url"
            return f.day.isoformat(), "meta"
    f = dates.first_date(enp.get("date"))
    if f:
        return f.day.isoformat(), "meta"
    return from_url, "url"
