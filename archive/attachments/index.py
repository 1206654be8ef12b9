"""Attachment text in the exact Chinese search: its own bigram index, beside the articles' one.

`attachment_fts` is a contentless FTS5 table of the same form as `articles_fts` (archive/search.py: the
same `govnews_fts_text()` rewriting, the same `ascii` tokenizer, so `govnews_match()` serves both). It
holds the current version of each attachment's text (attachment_text.current = 1), kept by triggers on
attachment_text like the articles' index.

A search hit is an article whose title or body contains every term, or one of whose attachments'
current text contains every term (each document on its own: terms are not combined across an article
and its attachments). The hit in an attachment finds every article that links the file.
"""

from __future__ import annotations

import sqlite3

from archive.search import INDEX_VERSION, _transaction

FTS = "attachment_fts"
TABLE = "attachment_text"

TRIGGERS = {
    f"{FTS}_ai": f"""CREATE TRIGGER {FTS}_ai AFTER INSERT ON {TABLE} WHEN new.current = 1 BEGIN
  INSERT INTO {FTS}(rowid, text) VALUES (new.id, govnews_fts_text(new.text));
END""",
    f"{FTS}_ad": f"""CREATE TRIGGER {FTS}_ad AFTER DELETE ON {TABLE} WHEN old.current = 1 BEGIN
  INSERT INTO {FTS}({FTS}, rowid, text) VALUES ('delete', old.id, govnews_fts_text(old.text));
END""",
    f"{FTS}_au": f"""CREATE TRIGGER {FTS}_au AFTER UPDATE OF text, current ON {TABLE}
WHEN old.text IS NOT new.text OR old.current IS NOT new.current BEGIN
  INSERT INTO {FTS}({FTS}, rowid, text) SELECT 'delete', old.id, govnews_fts_text(old.text) WHERE old.current = 1;
  INSERT INTO {FTS}(rowid, text) SELECT new.id, govnews_fts_text(new.text) WHERE new.current = 1;
END""",
}

# The articles whose current attachment text matches :query (a search-box query), by articles.rowid.
ARTICLE_HITS = f"""SELECT a.rowid AS rowid, min(f.rank) AS rank FROM {FTS} f
JOIN {TABLE} t ON t.id = f.rowid JOIN attachments x ON x.url = t.url JOIN articles a ON a.url = x.article_url
WHERE {FTS} MATCH govnews_match(:query) GROUP BY a.rowid"""


def ensure_index(conn: sqlite3.Connection) -> bool:
    """Create the index and its triggers where missing; rebuild when stale. True when it rebuilt."""
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    if TABLE not in names:
        return False
    rebuild = False
    with _transaction(conn):
        meta = conn.execute("SELECT value FROM search_meta WHERE key = 'attachment_index_version'").fetchone() \
            if "search_meta" in names else None
        if FTS in names and (meta is None or meta[0] != str(INDEX_VERSION)):
            for name in TRIGGERS:
                conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            conn.execute(f"DROP TABLE {FTS}")
            names.discard(FTS)
        if FTS not in names:
            conn.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5(text, content='', tokenize='ascii')")
            rebuild = True
        for name, sql in TRIGGERS.items():
            if name not in names:
                conn.execute(sql)
                rebuild = True
        if not rebuild:
            want = conn.execute(f"SELECT count(*), max(id) FROM {TABLE} WHERE current = 1").fetchone()
            have = conn.execute(f"SELECT count(*), max(id) FROM {FTS}_docsize").fetchone()
            rebuild = tuple(want) != tuple(have)
        if rebuild:
            conn.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('delete-all')")
            conn.execute(f"INSERT INTO {FTS}(rowid, text) SELECT id, govnews_fts_text(text) FROM {TABLE} "
                         "WHERE current = 1")
            conn.execute("INSERT OR REPLACE INTO search_meta(key, value) VALUES ('attachment_index_version', ?)",
                         [str(INDEX_VERSION)])
    return rebuild


def indexed(conn: sqlite3.Connection) -> bool:
    """Does this database have the attachment index (archives from before it do not)?"""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ? AND sql LIKE '%fts5%'", [FTS]).fetchone() is not None


def with_attachment_hits(hits_sql: str) -> str:
    """A `SELECT rowid, rank` of article hits, widened to the articles found through their attachments.

    Each article once, with its best rank (an attachment hit ranks like a body hit of its text)."""
    return (f"SELECT rowid, min(rank) AS rank FROM ({hits_sql} UNION ALL {ARTICLE_HITS}) GROUP BY rowid")


ARTICLE_FTS_HITS = "SELECT rowid, rank FROM articles_fts WHERE articles_fts MATCH govnews_match(:query)"
# archive.search.search() and count_matches() on an archive with this index.
SEARCH_SQL = (f"SELECT a.rowid, a.* FROM ({with_attachment_hits(ARTICLE_FTS_HITS)}) f JOIN articles a ON a.rowid = f.rowid "
              "ORDER BY {order} LIMIT :limit OFFSET :offset")
COUNT_SQL = f"SELECT count(*) FROM ({with_attachment_hits(ARTICLE_FTS_HITS)})"


# Datasette's `?_search=` on the articles table filters with this subquery (with our escape_fts).
DATASETTE_SEARCH = "(select rowid from articles_fts where articles_fts match escape_fts(:search))"
DATASETTE_WIDER = (f"(select rowid from articles_fts where articles_fts match escape_fts(:search) union "
                   f"select a.rowid from {FTS} f join {TABLE} t on t.id = f.rowid join attachments x on x.url = t.url "
                   f"join articles a on a.url = x.article_url where {FTS} match escape_fts(:search))")


def widen_datasette_search(sql: str) -> str:
    """Datasette's search SQL (page, count, facets) with the articles found through attachment text."""
    return sql.replace(DATASETTE_SEARCH, DATASETTE_WIDER)


def hit_snippet(conn: sqlite3.Connection, row: dict, query: str, start: str = "<mark>", end: str = "</mark>") -> str | None:
    """The snippet of a search hit: from the body, or, when only an attachment has the words, from that
    attachment's text, saying so (`附件 attachment 《link text》: …`)."""
    from archive.search import contains, snippet

    if contains(row.get("title"), query) or contains(row.get("body"), query) or not indexed(conn):
        return snippet(row.get("body"), query, start=start, end=end)
    for link, url, text in conn.execute(
            f"SELECT x.text, x.url, t.text FROM attachments x JOIN {TABLE} t ON t.url = x.url AND t.current = 1 "
            "WHERE x.article_url = ? ORDER BY x.rowid", [row.get("url")]):
        if contains(text, query):
            return f"附件 attachment 《{link or url}》: {snippet(text, query, start=start, end=end)}"
    return snippet(row.get("body"), query, start=start, end=end)
