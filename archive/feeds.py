"""The HTML inside our Atom feed entries: an article's first paragraphs, or what changed in a version.

Archived text is escaped (markupsafe) before any tag of ours is put around it, and the result is run
through bleach with a short allowlist: an entry can never carry archived markup into a feed reader.
The feeds themselves are canned queries (archive/metadata.json) rendered by datasette-atom; these
functions are the SQL functions they call (registered by the Datasette plugin).
"""

from __future__ import annotations

import json

import bleach
from markupsafe import Markup, escape

from archive.diff import Collapsed, diff_versions, paragraphs
from archive.safety import strip_bidi

ALLOWED_TAGS = frozenset({"p", "ins", "del", "strong", "ul", "li", "code", "br"})
EXCERPT_CHARS = 600  # an entry of new articles: the first paragraphs, up to about this much text
FEED_INPUT_MAX = 400_000  # characters of the two versions together: larger diffs are not drawn in a feed


def sanitize(html: str) -> str:
    """Only our own tags, no attributes: whatever else is there becomes text."""
    return bleach.clean(html, tags=ALLOWED_TAGS, attributes={}, strip=False)


def _text(value: object) -> Markup:
    return escape(strip_bidi(value if isinstance(value, str) else ("" if value is None else str(value))))


def excerpt_html(body: str | None, count: int = 3) -> str:
    """The first `count` paragraphs of a body (at most about EXCERPT_CHARS characters), escaped, as <p>s."""
    out, used = [], 0
    for para in paragraphs(body)[: max(1, int(count or 1))]:
        if used >= EXCERPT_CHARS:
            break
        piece = para if used + len(para) <= EXCERPT_CHARS else para[: EXCERPT_CHARS - used] + "…"
        used += len(piece)
        out.append(Markup("<p>{}</p>").format(_text(piece)))
    return sanitize("".join(out))


def _version(value: str | dict | None) -> dict:
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value) if value else {}
    except ValueError:
        return {}


def diff_html(old: str | dict | None, new: str | dict | None) -> str:
    """What changed from version old to new (JSON objects of article_versions rows), as escaped HTML."""
    old, new = _version(old), _version(new)
    if sum(len(str(v)) for v in (*old.values(), *new.values())) > FEED_INPUT_MAX:
        return sanitize("<p>Too large to show here: open the article page · 改动过大，请在文章页查看</p>")
    d = diff_versions(old, new)
    out = [Markup("<p><strong>{}</strong></p>").format(str(d.summary))]
    if d.fields:
        items = [Markup("<li>{}: <del>{}</del> → <ins>{}</ins></li>").format(_text(f.label), _text(f.old or "—"),
                                                                          _text(f.new or "—")) for f in d.fields]
        out.append(Markup("<ul>{}</ul>").format(Markup("").join(items)))
    if d.attachments:
        labels = {"added": "Attachment added 新增附件", "removed": "Attachment removed 删除附件",
                  "replaced": "Attachment replaced 附件被替换"}
        items = [Markup("<li>{}: {} <code>{}</code></li>").format(
            labels[a.kind], _text(a.text or ""), _text(a.new_url or a.old_url)) for a in d.attachments]
        out.append(Markup("<ul>{}</ul>").format(Markup("").join(items)))
    for b in d.blocks(context=0):
        if isinstance(b, Collapsed):
            out.append(Markup("<p>… {} 段未改动 unchanged …</p>").format(b.count))
        elif b.kind == "added":
            out.append(Markup("<p><ins>{}</ins></p>").format(_text(b.new)))
        elif b.kind == "removed":
            out.append(Markup("<p><del>{}</del></p>").format(_text(b.old)))
        elif b.kind == "changed":
            tags = {"insert": "<ins>{}</ins>", "delete": "<del>{}</del>", "equal": "{}"}
            inner = Markup("").join(Markup(tags[g.op]).format(_text(g.text)) for g in b.segments)
            out.append(Markup("<p>{}</p>").format(inner))
    return sanitize("".join(out))


def register_functions(conn) -> None:
    """The SQL functions the feed queries call: govnews_excerpt_html(body, n), govnews_diff_html(old, new)
    and govnews_diff_size(old, new) (JSON objects of two versions), govnews_tilde(url) (Datasette's tilde-encoding, for row links)."""
    from datasette.utils import tilde_encode

    conn.create_function("govnews_excerpt_html", 2, excerpt_html, deterministic=True)
    conn.create_function("govnews_diff_html", 2, diff_html, deterministic=True)
    conn.create_function("govnews_diff_size", 2, diff_size, deterministic=True)
    conn.create_function("govnews_tilde", 1, lambda s: tilde_encode(s) if isinstance(s, str) else s,
                         deterministic=True)


def diff_size(old: str | dict | None, new: str | dict | None) -> int | None:
    """How big the change from old to new is (DiffSummary.size: characters added + removed, +1 per field
    or attachment); None when the versions are too large to compare here."""
    old, new = _version(old), _version(new)
    if sum(len(str(v)) for v in (*old.values(), *new.values())) > FEED_INPUT_MAX:
        return None
    return diff_versions(old, new).summary.size
