"""Chinese full-text search over the archive with exact substring semantics, on stock SQLite.

SQLite's FTS5 tokenizers cannot search Chinese: unicode61 makes a whole punctuation-delimited run one
token, and trigram misses 1-2 character words (and its LIKE acceleration is wrong on SQLite 3.40). So we
rewrite the text ourselves before FTS5 sees it, and rewrite the query the same way:

- the text is split into *runs* of letters and digits (``str.isalnum``: Han characters, Latin, digits);
  everything else (punctuation, spaces, line breaks) separates runs;
- each run becomes its overlapping bigrams plus its last character as a one-character token:
  ``新质生产力`` -> ``新质 质生 生产 产力 力``; ASCII letters are lower-cased (SQLite ``lower()``);
- the shadow table ``articles_fts`` is a contentless FTS5 table with the ``ascii`` tokenizer, which
  splits only on the spaces we put in and leaves every non-ASCII character alone.

A query term becomes an FTS5 phrase of the same tokens: 2+ characters -> consecutive bigrams, one
character -> the prefix ``"X"*`` (every occurrence of X starts a bigram or is a run's last character).
For a term made of letters and digits the phrase matches exactly the rows whose title or body contains
the term as a substring (ASCII case-insensitively) — no post-filter needed; tests prove it against an
``instr()`` scan. Punctuation or spaces inside a term match any run of punctuation/spaces in the text.
Several terms mean AND; a quoted phrase ("..." or “...”) is one term, spaces included.

The index follows the articles table through SQLite triggers, so every writer (the crawler, the
incremental crawls, gone-marking, a hand-run ``sqlite-utils``) keeps it in sync; the triggers call
``govnews_fts_text()``, which :func:`register_functions` adds to a connection (``Archive`` does it, the
Datasette and sqlite-utils plugins do it). A connection without it cannot change indexed text: it fails
loudly instead of leaving the index stale. The crawl writer's batches queue the triggers' index changes and
write them at commit (archive/searching/queued_index.py: one FTS5 segment per batch, not per article).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

# Bump when the text rewriting changes: ensure_search_schema() then rebuilds the index.
INDEX_VERSION = 2
FTS_TABLE = "articles_fts"
# Body first: FTS5 spends two bytes on a column marker for each posting outside column 0 (a third of
# the index when title came first).
INDEXED_COLUMNS = ("body", "title")
# Title hits rank above body hits.
RANK = "bm25(1.0, 10.0)"

_RUN = re.compile(r"[^\W_]+")  # maximal runs of str.isalnum() characters
# At each letter/digit, capture it and the next one if that is a letter/digit too: a bigram, or a run's end.
_TOKEN = re.compile(r"(?=([^\W_]{1,2}))[^\W_]")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TERMS = re.compile(r'"([^"]*)"?|“([^”]*)”?|(\S+)')


def runs(text: str | None) -> list[str]:
    """The runs of letters and digits in text, ASCII lower-cased."""
    if not text:
        return []
    return _RUN.findall(text.translate(_ASCII_LOWER))


def index_text(text: str | None) -> str | None:
    """Text as the index stores it: each run's bigrams, then the run's last character.

    One token per letter/digit: the two characters starting there, or the character alone at a run's end.
    (ASCII case is left to the tokenizer, which folds it.)"""
    if text is None:
        return None
    return " ".join(_TOKEN.findall(text))


def query_terms(query: str | None) -> list[str]:
    """Split a search-box query into terms: quoted phrases stay whole, the rest splits on whitespace."""
    if not query:
        return []
    return [next(g for g in m.groups() if g is not None) for m in _TERMS.finditer(query)]


def term_phrase(term: str) -> str | None:
    """The FTS5 phrase that matches exactly the rows containing term; None if term has no letters/digits."""
    parts = runs(term)
    if not parts:
        return None
    tokens: list[str] = []
    for i, run in enumerate(parts):
        tokens.extend(map(str.__add__, run[:-1], run[1:]))
        last = i == len(parts) - 1
        # A run followed by a separator must end a run in the text: its last character's token says so.
        # A one-character run is that token; as the final run it is a prefix (any run starting with it).
        if len(run) == 1 or not last:
            tokens.append(run[-1])
    return '"' + " ".join(tokens) + '"' + ("*" if len(parts[-1]) == 1 else "")


# A phrase no row can match: an empty phrase matches nothing in FTS5.
MATCH_NOTHING = '""'


def match_expression(query: str | None) -> str:
    """The FTS5 MATCH expression for a search-box query: every term must occur (AND)."""
    phrases = [p for p in map(term_phrase, query_terms(query)) if p]
    return " AND ".join(phrases) if phrases else MATCH_NOTHING


def contains(text: str | None, query: str | None) -> bool:
    """The reference semantics, in Python: does text contain every term of query (ASCII case-folded)?"""
    terms = [t for t in query_terms(query) if runs(t)]
    if not terms or not text:
        return False
    folded = text.translate(_ASCII_LOWER)
    return all(t.translate(_ASCII_LOWER) in folded for t in terms)


def snippet(text: str | None, query: str | None, width: int = 40, start: str = "<mark>",
            end: str = "</mark>") -> str | None:
    """A window of text around the first hit, hits wrapped in start/end, '…' where text was cut.

    The text is not HTML-escaped here; the Datasette plugin escapes it and keeps only the markers.
    """
    if not text:
        return text
    folded = text.translate(_ASCII_LOWER)
    needles = sorted({t.translate(_ASCII_LOWER) for t in query_terms(query) if runs(t)}, key=len, reverse=True)
    hits = [(folded.find(n), n) for n in needles]
    hits = [(i, n) for i, n in hits if i >= 0]
    flat = text.replace("\n", " ")
    if not hits:
        return flat[: 2 * width] + ("…" if len(flat) > 2 * width else "")
    first = min(i for i, _ in hits)
    lo, hi = max(0, first - width), min(len(text), first + 2 * width)
    window, wfold = flat[lo:hi], folded[lo:hi]
    pattern = re.compile("|".join(re.escape(n) for n in needles))
    out, pos = [], 0
    for m in pattern.finditer(wfold):
        out += [window[pos:m.start()], start, window[m.start():m.end()], end]
        pos = m.end()
    out.append(window[pos:])
    return ("…" if lo else "") + "".join(out) + ("…" if hi < len(text) else "")


# Bounds for connections that run other people's SQL (Datasette): a Python function cannot be interrupted
# by SQLite's time limit, so `govnews_fts_text(printf('%.*c', 50000000, 'x'))` would hold a thread for 20 s.
QUERY_MAX_CHARS = 2_000  # a search-box query
TEXT_MAX_CHARS = 2_000_000  # a text argument (far above any article body we archive)


class InputTooLarge(ValueError):
    """A SQL function was called with more text than this connection allows."""


def bounded_function(fn, name: str, limits: tuple[int | None, ...], truncate: bool = False):
    def guarded(*args):
        args = list(args)
        for i, (arg, limit) in enumerate(zip(args, limits, strict=False)):
            if limit is not None and isinstance(arg, str) and len(arg) > limit:
                if not truncate or i != 0:
                    raise InputTooLarge(f"{name}: argument {i + 1} is over {limit:,} characters")
                args[i] = arg[:limit]  # a snippet of a huge text is taken from its beginning
        return fn(*args)
    return guarded


def _write_now(*_rows: object) -> int:
    return 0


def register_functions(conn: sqlite3.Connection, bounded: bool = False) -> None:
    """Add the SQL functions search needs to a connection, and make REPLACE fire delete triggers.

    govnews_fts_text(text)   the index form of text (the triggers call it)
    govnews_match(query)     the MATCH expression for a search-box query
    govnews_contains(text, query)   the same test by scanning (reference, and post-filter if wanted)
    govnews_snippet(text, query)    window around the first hit with <mark> markers
    govnews_fts_defer(old..., new...)   0: the index triggers write the index themselves

    `bounded`: for connections that run untrusted SQL, every function refuses (or, for a snippet's text,
    cuts) arguments over QUERY_MAX_CHARS / TEXT_MAX_CHARS, so no call outlasts the SQL time limit.
    """
    fns = {"govnews_fts_text": (1, index_text, (TEXT_MAX_CHARS,), False),
           "govnews_match": (1, match_expression, (QUERY_MAX_CHARS,), False),
           "govnews_contains": (2, contains, (None, QUERY_MAX_CHARS), False),
           "govnews_snippet": (2, snippet, (TEXT_MAX_CHARS, QUERY_MAX_CHARS), True)}
    for name, (nargs, fn, limits, truncate) in fns.items():
        impl = bounded_function(fn, name, limits, truncate) if bounded else fn
        conn.create_function(name, nargs, impl, deterministic=True)
        if name == "govnews_snippet":
            conn.create_function(name, 3, impl, deterministic=True)
    # The index triggers ask it whether a writer's batch queues their change (archive/searching/queued_index.py).
    from archive.searching.queued_index import QueuedIndex

    if QueuedIndex.of(conn) is None:
        conn.create_function("govnews_fts_defer", 2 * (1 + len(INDEXED_COLUMNS)), _write_now, deterministic=True)
    # INSERT OR REPLACE deletes the old row; only with recursive triggers does our delete trigger see it.
    conn.execute("PRAGMA recursive_triggers = ON")


def _new_values(prefix: str) -> str:
    return ", ".join(f"govnews_fts_text({prefix}.{c})" for c in INDEXED_COLUMNS)


def _texts(prefix: str | None) -> str:
    """rowid and indexed columns of a trigger's old/new row for govnews_fts_defer (NULLs: no such row)."""
    if prefix is None:
        return ", ".join(["NULL"] * (1 + len(INDEXED_COLUMNS)))
    return ", ".join([f"{prefix}.rowid", *(f"{prefix}.{c}" for c in INDEXED_COLUMNS)])


def _not_queued(old: str | None, new: str | None) -> str:
    # govnews_fts_defer() is 0 on every connection but a writer's batch (archive/searching/queued_index.py),
    # which takes the change to write it at commit and answers 1: the trigger's own statement is skipped.
    return f"NOT govnews_fts_defer({_texts(old)}, {_texts(new)})"


_COLS = ", ".join(INDEXED_COLUMNS)
TRIGGERS = {
    f"{FTS_TABLE}_ai": f"""CREATE TRIGGER {FTS_TABLE}_ai AFTER INSERT ON articles
WHEN {_not_queued(None, 'new')} BEGIN
  INSERT INTO {FTS_TABLE}(rowid, {_COLS}) VALUES (new.rowid, {_new_values('new')});
END""",
    f"{FTS_TABLE}_ad": f"""CREATE TRIGGER {FTS_TABLE}_ad AFTER DELETE ON articles
WHEN {_not_queued('old', None)} BEGIN
  INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLS}) VALUES ('delete', old.rowid, {_new_values('old')});
END""",
    # Only a change of indexed text touches the index: re-crawls and gone-marking cost nothing here.
    f"{FTS_TABLE}_au": f"""CREATE TRIGGER {FTS_TABLE}_au AFTER UPDATE OF {_COLS} ON articles
WHEN (old.body IS NOT new.body OR old.title IS NOT new.title) AND {_not_queued('old', 'new')} BEGIN
  INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLS}) VALUES ('delete', old.rowid, {_new_values('old')});
  INSERT INTO {FTS_TABLE}(rowid, {_COLS}) VALUES (new.rowid, {_new_values('new')});
END""",
}


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One transaction, whether or not the caller's connection is in autocommit mode."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _meta_get(db: sqlite_utils.Database, key: str) -> str | None:
    if "search_meta" not in db.table_names():
        return None
    row = db.execute("SELECT value FROM search_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def ensure_search_schema(db: sqlite_utils.Database) -> bool:
    """Create the index and its triggers if missing; rebuild it if stale. Returns True if it rebuilt.

    Stale means: another index version, or a row count that differs from the articles table (e.g. a
    tool that rewrote the table and dropped our triggers). Called by Archive on every open.
    """
    names = set(db.table_names())
    if "articles" not in names:
        return False
    rebuild = False
    with _transaction(db.conn):
        if "search_meta" not in names:
            db["search_meta"].create({"key": str, "value": str}, pk="key")
        if FTS_TABLE in names and _meta_get(db, "index_version") != str(INDEX_VERSION):
            # Another layout: start over (the triggers go with the table they write to).
            for name in TRIGGERS:
                db.execute(f"DROP TRIGGER IF EXISTS {name}")
            db.execute(f"DROP TABLE {FTS_TABLE}")
            names.discard(FTS_TABLE)
        if FTS_TABLE not in names:
            db.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({_COLS}, content='', tokenize='ascii')")
            db.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('rank', '{RANK}')")
            rebuild = True
        triggers = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
        for name, sql in TRIGGERS.items():
            if name not in triggers:
                db.execute(sql)
                rebuild = True
            elif triggers[name] != sql:  # an older text of the same trigger (it kept the index in sync)
                db.execute(f"DROP TRIGGER {name}")
                db.execute(sql)
        if not rebuild and not index_in_sync(db):
            rebuild = True
        if rebuild:
            rebuild_index(db)
    return rebuild


def index_in_sync(db: sqlite_utils.Database) -> bool:
    """Cheap check: the index holds one document per article, with the same largest rowid."""
    a = db.execute("SELECT count(*), max(rowid) FROM articles").fetchone()
    f = db.execute(f"SELECT count(*), max(id) FROM {FTS_TABLE}_docsize").fetchone()
    return tuple(a) == tuple(f)


def rebuild_index(db: sqlite_utils.Database) -> None:
    """Re-index every article from scratch (in the caller's transaction)."""
    db.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")
    db.execute(f"INSERT INTO {FTS_TABLE}(rowid, {_COLS}) SELECT rowid, {_new_values('articles')} FROM articles")
    db.execute("INSERT OR REPLACE INTO search_meta(key, value) VALUES ('index_version', ?)", [str(INDEX_VERSION)])


def has_search_index(conn: sqlite3.Connection) -> bool:
    """Is this database a govnews archive with our search index?"""
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ? AND sql LIKE '%fts5%'", [FTS_TABLE]).fetchone()
    return row is not None


SEARCH_SQL = f"""
SELECT a.rowid, a.* FROM {FTS_TABLE} f JOIN articles a ON a.rowid = f.rowid
WHERE {FTS_TABLE} MATCH govnews_match(:query) ORDER BY {{order}} LIMIT :limit OFFSET :offset
"""


def search(db: sqlite_utils.Database | sqlite3.Connection, query: str, order: str = "relevance",
           limit: int = 50, offset: int = 0) -> Iterator[dict]:
    """Search articles like sqlite-utils' Table.search(): rows as dicts, by relevance or newest first."""
    conn = db.conn if isinstance(db, sqlite_utils.Database) else db
    register_functions(conn)
    order_sql = {"relevance": "f.rank", "newest": "a.published DESC"}[order]
    sql = SEARCH_SQL
    from archive.attachments import index as attachments  # attachment text is searched too

    if attachments.indexed(conn):
        sql = attachments.SEARCH_SQL
    cur = conn.execute(sql.format(order=order_sql), {"query": query, "limit": limit, "offset": offset})
    cols = [d[0] for d in cur.description]
    for row in cur:
        yield dict(zip(cols, row, strict=True))


def searchable(query: str | None) -> bool:
    """Does the query hold anything to search for (a letter or digit)? Blank or punctuation-only: no."""
    return any(runs(t) for t in query_terms(query))


def count_matches(db: sqlite_utils.Database | sqlite3.Connection, query: str) -> int:
    """How many articles search(db, query) can return in all (every page together)."""
    conn = db.conn if isinstance(db, sqlite_utils.Database) else db
    register_functions(conn)
    from archive.attachments import index as attachments  # attachment text is searched too

    if attachments.indexed(conn):
        return conn.execute(attachments.COUNT_SQL, {"query": query}).fetchone()[0]
    return conn.execute(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH govnews_match(?)",
                        [query]).fetchone()[0]


# -- browsing: the facet columns, the narrow facet table and the indexes facets and sorts need ----------
# (archive/searching/browse.py; the names stay importable from here)
FACET_TABLE = "article_facets"


def ensure_browse_schema(db: sqlite_utils.Database) -> None:
    """Add the facet columns, the narrow facet table, their triggers and indexes (archive/searching/browse.py)."""
    from archive.searching import browse

    browse.ensure_browse_schema(db)
