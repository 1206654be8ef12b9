"""Datasette plugin for govnews archives, registered through the `datasette` entry point.

Loaded by any Datasette in the same environment, so a plain `datasette archive.db` behaves like
`govnews serve`: Chinese full-text search in the search box and `?_search=`, our metadata, facets and
canned queries, the article page, and Excel-safe CSV. Databases without our search index are left alone.
"""

from __future__ import annotations

import copy
import csv
import functools
import io
import json
import re
import sqlite3
import sys
import urllib.parse
from importlib import resources

from datasette import hookimpl
from datasette.utils import escape_sqlite, tilde_encode, urlsafe_components
from markupsafe import Markup, escape

from archive import feeds, safety, search
from archive.attachments import index as attachment_index
from archive.datasette_plugin import atom, reading, searchsql
from archive.datasette_plugin.copies import archived_copies, payload
from archive.datasette_plugin.versions import version_diff

# -- which databases are ours ---------------------------------------------------------------------


def _schema(datasette, name: str) -> dict | None:
    """{"tables": set, "article_columns": set} for a govnews archive, None for any other database.

    Read once per database with a plain read-only connection (get_metadata is synchronous)."""
    cache = datasette.__dict__.setdefault("_govnews_schema", {})
    if name not in cache:
        db = datasette.databases.get(name)
        info = None
        if db is not None and db.path and not db.is_memory:
            mode = "ro" if db.is_mutable else "ro&immutable=1"
            try:
                conn = sqlite3.connect(f"file:{db.path}?mode={mode}", uri=True)
                try:
                    if search.has_search_index(conn):
                        tables = {t: {r[1] for r in conn.execute("SELECT * FROM pragma_table_xinfo(?)", [t])}
                                  for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                        info = {"tables": tables, "article_columns": tables.get("articles", set())}
                finally:
                    conn.close()
            except sqlite3.Error:
                info = None
        cache[name] = info
    return cache[name]


def _archives(datasette) -> dict[str, dict]:
    return {n: s for n in list(datasette.databases) if (s := _schema(datasette, n))}


# -- search: our query rewriting replaces Datasette's escape_fts -----------------------------------


MMAP_BYTES = 1 << 34


@hookimpl(trylast=True)
def prepare_connection(conn, database, datasette):
    # trylast: Datasette's own prepare_connection registers escape_fts; ours must come after to win.
    try:
        ours = search.has_search_index(conn)
    except sqlite3.Error:
        return
    if ours:
        search.register_functions(conn, bounded=True)  # Datasette runs anyone's SQL: bound every argument
        feeds.register_functions(conn)
        conn.create_function("escape_fts", 1, search.bounded_function(search.match_expression, "escape_fts",
                                                             (search.QUERY_MAX_CHARS,)), deterministic=True)
        # Searches and facets read thousands of rows at random: memory-mapped reads are several times
        # faster than SQLite's own page reads (SQLite caps the size at its compile-time maximum).
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        # Enough page cache to keep the narrow facet table (~40 MB at a million articles) in memory.
        conn.execute("PRAGMA cache_size = -65536")


# -- metadata ---------------------------------------------------------------------------------------


@functools.cache
def _base_metadata() -> dict:
    return json.loads(resources.files("archive").joinpath("metadata.json").read_text(encoding="utf-8"))


FACETS = ("site", "section", "year", "month", "issuer", "gone", "quality")


def archive_metadata(schema: dict) -> dict:
    """Our database-level metadata for one archive, fitted to the columns it has."""
    meta = copy.deepcopy(_base_metadata()["databases"]["archive"])
    articles = meta["tables"]["articles"]
    cols = schema["article_columns"]
    articles["facets"] = [f for f in FACETS if f in cols]
    articles["sortable_columns"] = [c for c in articles.get("sortable_columns", []) if c in cols]
    articles["fts_table"] = search.FTS_TABLE
    articles["fts_pk"] = "rowid"
    # Only the tables and columns this archive has (an older archive lacks some).
    meta["tables"] = {t: m for t, m in meta["tables"].items() if t in schema["tables"]}
    meta["queries"] = canned_for(schema, meta.get("queries", {}))
    for t, m in meta["tables"].items():
        m["columns"] = {c: d for c, d in m.get("columns", {}).items() if c in schema["tables"][t]}
    return meta


@hookimpl
def get_metadata(datasette, key, database, table):
    archives = _archives(datasette)
    if not archives:
        return {}
    cache = datasette.__dict__.setdefault("_govnews_metadata", {})
    names = tuple(archives)
    if names not in cache:
        out = {k: v for k, v in _base_metadata().items() if k != "databases"}
        out["databases"] = {name: archive_metadata(schema) for name, schema in archives.items()}
        # Our feed queries escape and sanitize their own HTML (archive/feeds.py), with <ins>/<del> that
        # datasette-atom's own cleaning would turn into text.
        out["plugins"] = {"datasette-atom": {"allow_unsafe_html_in_canned_queries": {
            name: [q for q in FEED_QUERIES if q in out["databases"][name]["queries"]] for name in archives}}}
        cache[names] = out
    # Datasette merges what we return into its own dict: hand out a copy.
    return copy.deepcopy(cache[names])


# -- table pages ---------------------------------------------------------------------------------------
# Paging: Datasette 0.65 sorts the first page of a table without its primary key as tie-breaker -----
# Later pages (`_next=`) do sort by "published desc, url"; so wherever several articles share a date the
# first page cut falls in a different order, and paging (and every streamed CSV) repeats some rows and
# skips others. We add the same tie-breaker to the first page's ORDER BY for our articles table.

_FIRST_PAGE_ORDER = re.compile(r"^(select .+ from articles (?:where .+ )?order by [\w\[\]]+(?: desc)?)( limit \d+.*)$",
                               re.S)


def with_tiebreaker(sql: str) -> str:
    m = _FIRST_PAGE_ORDER.match(sql)
    if not m or m.group(1).endswith(("url", "url desc")):
        return sql
    return f"{m.group(1)}, url{m.group(2)}"


@hookimpl
def startup(datasette):
    atom.wrap_renderer(datasette)
    for name, schema in _archives(datasette).items():
        db = datasette.get_database(name)
        if getattr(db, "_govnews_tiebreak", False):
            continue
        narrow = schema["tables"].get(search.FACET_TABLE, set()) - {"id"}
        # `?_search=` finds articles through their attachments' text too (archive/attachments/index.py)
        widen = attachment_index.widen_datasette_search if attachment_index.FTS in schema["tables"] else str
        # Search pages: page, count and facets from the narrow table, count and facets in one pass (searchsql.py)
        searching = searchsql.SearchSQL(db.execute, narrow, widen)

        async def execute_with_tiebreaker(sql, *args, _searching=searching, **kwargs):
            return await _searching(with_tiebreaker(sql), *args, **kwargs)

        db.execute = execute_with_tiebreaker
        db._govnews_tiebreak = True


# -- canned queries: data in metadata.json ("queries"), kept to those an archive has the tables for ---------


def canned_for(schema: dict, queries: dict) -> dict:
    """The canned queries whose `needs` (tables, or table.column) this archive has, without `needs`; a query
    with `otherwise` falls back to those fields (its sql, description) where the needs are missing."""
    def has(need: str) -> bool:
        table, _, col = need.partition(".")
        return table in schema["tables"] and (not col or col in schema["tables"][table])

    out = {}
    for name, q in queries.items():
        plain = {k: v for k, v in q.items() if k not in ("needs", "otherwise")}
        if all(has(n) for n in q.get("needs", ())):
            out[name] = plain
        elif "otherwise" in q:  # the query for archives without those tables (e.g. search before attachment text)
            out[name] = {**plain, **q["otherwise"]}
    return out


FEED_QUERIES = ("feed_new", "feed_changed", "feed_gone")


# -- rendering -------------------------------------------------------------------------------------

_MARK = re.compile(r"&lt;(/?)mark&gt;")


@hookimpl
def prepare_jinja2_environment(env, datasette):
    # Templates draw archived URLs as links only through web_url (http(s) only), text through strip_bidi.
    env.filters["web_url"] = safety.web_url
    env.filters["strip_bidi"] = safety.strip_bidi


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if not isinstance(value, str) or not _schema(datasette, database):
        return None
    if column == "snippet":
        # Escape the archived text; then turn back only our own <mark> markers into tags.
        return Markup(_MARK.sub(r"<\1mark>", str(escape(value))))
    if table == "articles" and column == "title":
        return reading.title_link(datasette, database, row["url"] if "url" in row.keys() else None, value)
    if column in reading.LIST_COLUMNS and (cell := reading.list_cell(value)) is not None:
        return cell
    if table is None and column == "change":
        return reading.change_cell(datasette, database, row, value)
    if table is None and column in ("url", "title"):
        # In query results the title leads to the archived copy; the URL to the original page.
        url = safety.web_url(row["url"] if "url" in row.keys() else None)
        if url is None:
            return _without_bidi(value)
        if column == "title":
            archived = datasette.urls.row(database, "articles", tilde_encode(row["url"]))
            return Markup('<a href="{}">{}</a>').format(archived, safety.strip_bidi(value))
        return Markup('<a href="{}" rel="noopener noreferrer nofollow" title="original page 原网页">{} ↗</a>').format(
            url, url)
    return _without_bidi(value)


def _without_bidi(value: str):
    """Archived text with bidirectional controls, shown without them (escaped); None: Datasette's default."""
    return escape(safety.strip_bidi(value)) if safety.BIDI_CONTROLS.search(value) else None


@hookimpl
async def extra_template_vars(template, database, table, columns, view_name, request, datasette):
    if table != "articles" or not _schema(datasette, database):
        return {}
    if view_name == "table":
        return {"govnews_reading": reading.reading_vars(request, list(columns or ()))}
    if view_name != "row":
        return {}
    pk = urlsafe_components(request.url_vars["pks"])[0]
    db = datasette.get_database(database)
    schema = _schema(datasette, database)
    attachments = [dict(r) for r in await db.execute(
        "SELECT url, text FROM attachments WHERE article_url = ? ORDER BY rowid", [pk])]
    if attachment_index.TABLE in schema["tables"]:  # each file's extracted text, shown escaped
        texts = {r["url"]: dict(r) for r in await db.execute(
            f"SELECT t.url, t.version, t.method, t.status, t.format, t.pages, t.characters, t.errors, "
            f"substr(t.text, 1, {ATTACHMENT_TEXT_SHOWN}) AS text FROM attachments x JOIN {attachment_index.TABLE} t "
            "ON t.url = x.url AND t.current = 1 WHERE x.article_url = ?", [pk])}
        for a in attachments:
            a["extracted"] = texts.get(a["url"])
    versions = []
    if "article_versions" in schema["tables"]:
        vcols = [r["name"] for r in (await db.execute("PRAGMA table_info(article_versions)")).rows]
        order = next((c for c in ("version", "saved_at", "fetched_at", "id") if c in vcols), "rowid")
        key = "article_url" if "article_url" in vcols else "url"
        versions = [dict(r) for r in await db.execute(
            f"SELECT rowid AS _rowid, * FROM article_versions WHERE {escape_sqlite(key)} = ? "
            f"ORDER BY {escape_sqlite(order)} DESC", [pk])]
    captures_url = None
    if "captures" in schema["tables"]:
        captures_url = datasette.urls.table(database, "captures") + "?" + urllib.parse.urlencode({"url": pk})
    images = []
    if "captures" in schema["tables"]:
        row = (await db.execute("SELECT images FROM articles WHERE url = ?", [pk])).first()
        images = [i.get("url") for i in (_json_or_none(row[0]) if row else None) or [] if isinstance(i, dict)]
    copies = await archived_copies(db, database, pk, versions, attachments, images) \
        if "captures" in schema["tables"] else {}
    return {"govnews_article": {"attachments": attachments, "versions": versions, "captures_url": captures_url,
                                "json": _json_or_none, "diff": version_diff(versions, request.args),
                                "copies": copies}}


ATTACHMENT_TEXT_SHOWN = 20_000  # characters of an attachment's text on the article page (all in attachment_text)


@hookimpl
def register_routes(datasette):
    return [(r"^/-/govnews/payload/(?P<database>[^/]+)$", payload)]


# On the articles page, thirty column descriptions would push the search box below the fold: fold them.
_TABLE_SCRIPT = """
document.addEventListener("DOMContentLoaded", function () {
  var dl = document.querySelector("dl.column-descriptions");
  if (dl) {
    var d = document.createElement("details"), s = document.createElement("summary");
    s.textContent = "Column descriptions · 字段说明";
    dl.parentNode.insertBefore(d, dl); d.appendChild(s); d.appendChild(dl);
  }
  var box = document.querySelector("input#_search");
  if (box && !box.placeholder) { box.placeholder = "政协 · 新质生产力 · 2024年 · GDP"; }
});
"""


@hookimpl
def extra_body_script(template, database, table, columns, view_name, request, datasette):
    if view_name == "table" and table == "articles" and database and _schema(datasette, database):
        return _TABLE_SCRIPT
    return None


def _json_or_none(value):
    if not value:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


# -- CSV: a UTF-8 BOM for Excel, and a download that hits a limit fails instead of ending "OK" ----

BOM = "\ufeff".encode()


class CSVIncomplete(RuntimeError):
    """Datasette stopped a CSV mid-stream (size limit, time limit, error) after a 200 was sent."""


class FormulaGuard:
    """Rewrites a CSV byte stream record by record so that no cell runs as a spreadsheet formula.

    Chunks may end mid-record: a record is complete at a newline outside quotes (UTF-8 never has
    0x0A or 0x22 inside a multi-byte character). Whatever is left at the end (Datasette's error text,
    which has no line ending) is passed on unchanged by `tail`.
    """

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> bytes:
        buf, out, start = self.pending + data, io.StringIO(), 0
        writer = csv.writer(out, lineterminator="\r\n")
        quotes, pos = 0, 0
        while (nl := buf.find(b"\n", pos)) >= 0:
            quotes += buf.count(b'"', pos, nl)
            pos = nl + 1
            if quotes % 2 == 0:  # a whole record: buf[start:pos]
                for row in csv.reader(io.StringIO(buf[start:pos].decode("utf-8", "replace"))):
                    writer.writerow([safety.neutralise_formula(c) for c in row])
                start, quotes = pos, 0
        self.pending = buf[start:]
        return out.getvalue().encode("utf-8")

    def tail(self) -> bytes:
        rest, self.pending = self.pending, b""
        return rest


def stream_every_row(scope: dict, query: dict[str, list[str]]) -> dict:
    """A table's CSV (`/db/table.csv`) streams every matching row, unless a number of rows was asked for.

    Datasette's CSV link returns one page (up to 1,000 rows) with no sign that rows are missing; we ask
    for `_stream=on`, which pages through them all. `_size=N`, `_next=` and SQL queries are left alone.
    """
    path = scope["path"]
    size = (query.get("_size") or [""])[0]
    if path.count("/") != 2 or "sql" in query or "_stream" in query or "_next" in query or size.isdigit():
        return scope
    qs = scope.get("query_string", b"")
    return dict(scope, query_string=qs + (b"&" if qs else b"") + b"_stream=on")


def attachment_disposition(filename: str) -> bytes:
    """Content-Disposition for a download, with the (possibly Chinese) file name per RFC 6266/5987."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "download.csv"
    return (f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{urllib.parse.quote(filename)}").encode("latin-1")


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def csv_app(scope, receive, send):
            path = scope.get("path", "") if scope.get("type") == "http" else ""
            if path and not path.startswith("/-/") and scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
                # The archive is read-only and no canned query writes: say so, instead of a 500.
                await send({"type": "http.response.start", "status": 405,
                            "headers": [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": b"405 Method Not Allowed: the archive is read-only\n"})
                return
            query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
            token = searchsql.begin_request(query)  # the one-pass search counts are kept for this request
            try:
                await request_app(scope, receive, send, path, query)
            finally:
                searchsql.REQUEST.reset(token)

        async def request_app(scope, receive, send, path, query):
            if not path.endswith(".csv"):
                await app(scope, receive, send)
                return
            state = {"csv": False, "held": b"", "started": False}
            guard = None if query.get("_raw_formulas") else FormulaGuard()
            scope = stream_every_row(scope, query)
            filename = urllib.parse.unquote(path.rsplit("/", 1)[-1])

            async def send_csv(message):
                if message["type"] == "http.response.start":
                    headers = dict((k.lower(), v) for k, v in message.get("headers", []))
                    ctype = headers.get(b"content-type", b"")
                    state["csv"] = message["status"] == 200 and ctype.split(b";")[0] in (b"text/csv", b"text/plain")
                    if state["csv"] and b"content-disposition" not in headers:
                        # A download, not a page of text in the tab (Datasette adds it only with _dl=1).
                        message = dict(message, headers=[
                            *((k, v) for k, v in message["headers"] if k.lower() != b"content-type"),
                            (b"content-type", b"text/csv; charset=utf-8"),
                            (b"content-disposition", attachment_disposition(filename))])
                    if state["csv"] and guard is not None:  # rewriting changes the length
                        message = dict(message, headers=[(k, v) for k, v in message["headers"]
                                                         if k.lower() != b"content-length"])
                    elif state["csv"] and b"content-length" in headers:
                        message = dict(message, headers=[
                            (k, str(int(v) + len(BOM)).encode() if k.lower() == b"content-length" else v)
                            for k, v in message["headers"]])
                    await send(message)
                    return
                if message["type"] != "http.response.body" or not state["csv"]:
                    await send(message)
                    return
                body, more = message.get("body", b""), message.get("more_body", False)
                if guard is not None:
                    body = guard.feed(body) + (b"" if more else guard.tail())
                if not state["started"]:
                    state["started"] = True
                    body = BOM + body
                # Hold back the newest chunk: Datasette's error text arrives as a last write with no
                # line ending, and it must not reach the client as if it were the last row.
                held, state["held"] = state["held"], b""
                if body:
                    if held:
                        await send({"type": "http.response.body", "body": held, "more_body": True})
                    held = body
                if more:
                    state["held"] = held
                    return
                if held and not held.endswith(b"\n") and held != BOM:
                    msg = held.decode("utf-8", "replace").lstrip("\ufeff")
                    sys.stderr.write(f"govnews: CSV download stopped early, connection aborted: {msg}\n")
                    # The 200 is already sent: abort the connection so the client sees a failed download.
                    raise CSVIncomplete(msg)
                await send({"type": "http.response.body", "body": held, "more_body": False})

            await app(scope, receive, send_csv)

        return csv_app

    return wrap
