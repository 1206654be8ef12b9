"""sqlite-utils plugin (entry point `sqlite_utils`): our search SQL functions on every sqlite-utils connection.

So `sqlite-utils query archive.db "... WHERE articles_fts MATCH govnews_match(:q)" -p q 政协` searches
Chinese like Datasette does, and `sqlite-utils insert/upsert` into articles keeps the index in sync
(the index triggers call govnews_fts_text()).
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import hookimpl

from archive import search


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    search.register_functions(conn)
