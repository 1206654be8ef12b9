"""Archived copies on the article page: each version's replay (pywb, on its own origin) and each
attachment's and in-body image's archived bytes, streamed from its WARC record by a download route.

The route serves only payloads the archive indexes (a `captures` row with that file and offset), always
as a download (`Content-Disposition: attachment`, `nosniff`, a sandboxing CSP), so archived HTML or
script never runs in Datasette's origin.
"""

from __future__ import annotations

import asyncio
import os
import urllib.parse
from pathlib import PurePosixPath

from datasette.utils.asgi import Response

from archive.replay import replay_url
from archive.store import data_dir
from archive.warc import read_payload

ROUTE = "/-/govnews/payload/"


def replay_base() -> str | None:
    """Where replay runs (set by `govnews serve --replay-port`), or None: no replay links."""
    return os.environ.get("GOVNEWS_REPLAY_URL") or None


def payload_url(database: str, warc_file: str | None, offset: int | None) -> str | None:
    if not warc_file or offset is None:
        return None
    return f"{ROUTE}{urllib.parse.quote(database)}?" + urllib.parse.urlencode({"file": warc_file, "offset": offset})


async def archived_copies(db, database: str, url: str, versions: list[dict], attachments: list[dict],
                          images: list[str] = ()) -> dict:
    """{"versions": {version: replay URL}, "attachments": {url: download URL}, "images": {url: download
    URL}} for the article page (an image: its latest successful capture, a page resource of the article)."""
    base = replay_base()
    replays = {}
    if base:
        for v in versions:
            if v.get("warc_file") and v.get("warc_offset") is not None:
                rows = (await db.execute("SELECT warc_date FROM captures WHERE warc_file = ? AND warc_offset = ?",
                                         [v["warc_file"], v["warc_offset"]])).rows
                if rows and rows[0][0]:
                    replays[v.get("version")] = replay_url(base, rows[0][0], url)
    files = {}
    for a in attachments:
        rows = (await db.execute("SELECT warc_file, warc_offset FROM attachments WHERE article_url = ? AND url = ? "
                                 "AND status = 'ok'", [url, a["url"]])).rows
        if rows and rows[0][0]:
            files[a["url"]] = payload_url(database, rows[0][0], rows[0][1])
    pictures = {}
    for image in images:
        rows = (await db.execute("SELECT warc_file, warc_offset FROM captures WHERE url = ? AND status BETWEEN 200 "
                                 "AND 299 ORDER BY id DESC LIMIT 1", [image])).rows
        if rows and rows[0][0]:
            pictures[image] = payload_url(database, rows[0][0], rows[0][1])
    return {"versions": replays, "attachments": files, "images": pictures}


async def payload(datasette, request) -> Response:
    """The archived bytes of one capture, as a download."""
    database = request.url_vars["database"]
    try:
        db = datasette.get_database(database)
        offset = int(request.args.get("offset", ""))
    except (KeyError, ValueError):
        return Response.text("no such capture", status=404)
    warc_file = request.args.get("file", "")
    rows = (await db.execute("SELECT url, mime FROM captures WHERE warc_file = ? AND warc_offset = ? LIMIT 1",
                             [warc_file, offset])).rows
    if not rows or not db.path:
        return Response.text("no such capture", status=404)
    url, mime = rows[0]
    warc_dir = os.environ.get("GOVNEWS_WARC_DIR") or str(data_dir(db.path, "warc"))
    try:
        body = await asyncio.get_running_loop().run_in_executor(None, read_payload, db.path, warc_dir, warc_file, offset)
    except (OSError, ValueError) as e:
        return Response.text(f"the capture cannot be read: {e}", status=404)
    from archive.datasette_plugin import attachment_disposition

    name = PurePosixPath(urllib.parse.urlsplit(url).path).name or "download"
    headers = {"Content-Disposition": attachment_disposition(urllib.parse.unquote(name)).decode("latin-1"),
               "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
               "X-Govnews-Original-Url": urllib.parse.quote(url, safe=":/?&=%#")}
    return Response(body, status=200, headers=headers, content_type=mime or "application/octet-stream")
