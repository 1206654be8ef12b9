"""Around datasette-atom's renderer: a valid empty feed instead of its 500, and absolute entry links.

datasette-atom 0.9 takes max(atom_updated) over the rows, which fails on an empty result; a feed with
nothing new yet must still be a feed. Our feed queries give links relative to the database
(`articles/<tilde-encoded url>`): here they become absolute URLs of this Datasette.
"""

from __future__ import annotations

from datetime import datetime, timezone

from datasette.utils.asgi import Response


def wrap_renderer(datasette) -> None:
    if "atom" not in datasette.renderers or getattr(datasette.renderers["atom"][0], "_govnews", False):
        return
    original, can_render = datasette.renderers["atom"]

    def render(datasette, request, sql, columns, rows, database, table, query_name, view_name, data):
        base = datasette.absolute_url(request, datasette.urls.database(database)) + "/"
        rows = [dict(zip(columns, tuple(r), strict=True)) for r in rows]
        for row in rows:
            link = row.get("atom_link")
            if isinstance(link, str) and not link.startswith(("http://", "https://")):
                row["atom_link"] = base + link.lstrip("/")
        if not rows:
            return empty_feed(datasette, request, sql, database, query_name)
        return original(datasette, request, sql, columns, rows, database, table, query_name, view_name, data)

    render._govnews = True
    datasette.renderers["atom"] = (render, can_render)


def empty_feed(datasette, request, sql: str, database: str, query_name: str | None) -> Response:
    from feedgen.feed import FeedGenerator

    title = request.args.get("_feed_title") or sql
    if query_name:
        title = (datasette.metadata(database=database) or {}).get("queries", {}).get(query_name, {}).get("title", title)
    fg = FeedGenerator()
    fg.generator(generator="Datasette", uri="https://github.com/simonw/datasette")
    fg.id(request.url)
    fg.link(href=request.url, rel="self")
    fg.title(title)
    fg.updated(datetime.now(timezone.utc))  # nothing in it yet: as of now
    return Response(fg.atom_str(pretty=True), content_type="application/xml; charset=utf-8", status=200)
