"""Chinese full-text search: exact substring semantics, and the index kept in sync by every writer."""

from __future__ import annotations

import random
import sqlite3

import pytest
import sqlite_utils

from archive import search
from archive.store import Archive

# Frequent characters, so that random substrings recur across documents; Latin, digits, punctuation.
ALPHABET = list("政协会议党委员市人民政府新质生产力发展经济数字年月日中国") + list("GDPgdpAIx") + list("202458") \
    + list("，。、；：“”《》（）") + [" ", "\n", "·", "-", "%", "<", ">", "/"]


def random_text(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice(ALPHABET) for _ in range(n))


def reference(conn: sqlite3.Connection, query: str) -> set[int]:
    """What search must return: rows whose title or body contains every term (instr, ASCII case-folded)."""
    terms = [t for t in search.query_terms(query) if search.runs(t)]
    if not terms:
        return set()
    where = " AND ".join("(instr(lower(title), lower(?)) > 0 OR instr(lower(body), lower(?)) > 0)" for _ in terms)
    params = [p for t in terms for p in (t, t)]
    return {r[0] for r in conn.execute(f"SELECT rowid FROM articles WHERE {where}", params)}


def found(conn: sqlite3.Connection, query: str) -> set[int]:
    return {r[0] for r in conn.execute(
        f"SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH govnews_match(?)", [query])}


def record(url: str, title: str, body: str, **extra) -> dict:
    return {"url": url, "site": "t", "title": title, "body": body, "content_hash": str(hash((title, body))), **extra}


@pytest.fixture
def random_archive(tmp_path):
    rnd = random.Random(20240601)
    archive = Archive(tmp_path / "archive.db")
    for i in range(300):
        archive.save_article(record(f"https://example.gov.cn/{i}", random_text(rnd, rnd.randint(0, 12)),
                                    random_text(rnd, rnd.randint(0, 200))))
    yield archive
    archive.close()


def test_index_text_and_query_rewriting():
    assert search.index_text("新质生产力") == "新质 质生 生产 产力 力"
    assert search.index_text("2024年GDP增长5%，党") == "20 02 24 4年 年G GD DP P增 增长 长5 5 党"
    assert search.index_text(None) is None
    assert search.match_expression("政协") == '"政协"'
    assert search.match_expression("党") == '"党"*'
    assert search.match_expression("新质生产力") == '"新质 质生 生产 产力"'
    assert search.match_expression("政协 会议") == '"政协" AND "会议"'
    assert search.match_expression('"政协 会议"') == '"政协 协 会议"'
    assert search.match_expression("“政协 会”") == '"政协 协 会"*'
    # Nothing searchable: a phrase that matches no row (not an error, not every row).
    assert search.match_expression(" ，。 ") == search.MATCH_NOTHING
    assert search.match_expression('"') == search.MATCH_NOTHING


def test_random_substrings_exact_against_instr(random_archive):
    """Recall and precision 100% for letter/digit queries of every length, taken from the texts or not."""
    conn = random_archive.db.conn
    rnd = random.Random(7)
    texts = [t + "\n" + b for t, b in conn.execute("SELECT title, body FROM articles")]
    queries = set()
    while len(queries) < 400:
        text = rnd.choice(texts)
        n = rnd.choice([1, 1, 2, 2, 2, 3, 4, 5, 7])
        i = rnd.randrange(0, max(1, len(text) - n))
        q = "".join(search.runs(text[i:i + n]))
        if q:
            queries.add(q)
    queries |= {"政协", "党", "新质生产力", "2024年", "GDP", "gdp", "Gd", "AI", "x", "20", "年G", "无此词"}
    for q in sorted(queries):
        assert found(conn, q) == reference(conn, q), q
    # Several terms: AND.
    for _ in range(100):
        q = " ".join(rnd.sample(sorted(queries), 2))
        assert found(conn, q) == reference(conn, q), q


def test_punctuation_in_a_query_never_loses_a_match(random_archive):
    """A term with punctuation or spaces matches any punctuation/spaces there: a superset of instr()."""
    conn = random_archive.db.conn
    rnd = random.Random(3)
    texts = [b for (b,) in conn.execute("SELECT body FROM articles") if b]
    for _ in range(300):
        text = rnd.choice(texts)
        i = rnd.randrange(0, max(1, len(text) - 6))
        q = text[i:i + rnd.randint(2, 6)]
        if not search.runs(q) or '"' in q or "“" in q or "”" in q:
            continue
        phrase = '"' + q + '"'
        literal = {r[0] for r in conn.execute(
            "SELECT rowid FROM articles WHERE instr(lower(title), lower(?)) OR instr(lower(body), lower(?))", [q, q])}
        assert literal <= found(conn, phrase), q


def test_search_api_like_sqlite_utils(random_archive, tmp_path):
    db = sqlite_utils.Database(random_archive.path)
    rows = list(search.search(db, "政协", limit=1000))
    assert {r["rowid"] for r in rows} == reference(db.conn, "政协")
    newest = list(search.search(db, "政协", order="newest", limit=5))
    assert len(newest) == min(5, len(rows))
    # sqlite-utils' own connections get our SQL functions through its plugin hook.
    n = db.execute(f"SELECT count(*) FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH govnews_match(?)",
                   ["会议"]).fetchone()[0]
    assert n == len(reference(db.conn, "会议"))


def test_index_follows_inserts_updates_deletes_and_replace(tmp_path):
    archive = Archive(tmp_path / "a.db")
    conn = archive.db.conn
    archive.save_article(record("u1", "市政协召开会议", "讨论新质生产力。"))
    archive.save_article(record("u2", "党委会", "2024年GDP增长"))
    assert found(conn, "政协") == reference(conn, "政协") != set()
    # Update: the old words leave the index, the new ones enter it.
    archive.save_article(record("u1", "市人大召开会议", "讨论数字经济。"))
    assert found(conn, "政协") == set()
    assert found(conn, "数字经济") == reference(conn, "数字经济") != set()
    # Unchanged text: the index is not touched (no delete/insert churn on re-crawls).
    before = conn.execute(f"SELECT count(*) FROM {search.FTS_TABLE}_data").fetchone()[0]
    archive.save_article(record("u1", "市人大召开会议", "讨论数字经济。"))
    assert conn.execute(f"SELECT count(*) FROM {search.FTS_TABLE}_data").fetchone()[0] == before
    # INSERT OR REPLACE (sqlite-utils replace=True) deletes the old row: the delete trigger must see it.
    archive.db["articles"].insert(record("u2", "党委会", "GDP增长放缓"), pk="url", replace=True)
    assert found(conn, "2024年") == set()
    assert found(conn, "放缓") == reference(conn, "放缓") != set()
    # Delete.
    archive.db.execute("DELETE FROM articles WHERE url = 'u2'")
    assert found(conn, "党") == set()
    assert search.index_in_sync(archive.db)
    assert conn.execute(f"INSERT INTO {search.FTS_TABLE}({search.FTS_TABLE}) VALUES ('integrity-check')")
    archive.close()


def test_gone_marking_and_other_columns_leave_the_index_alone(tmp_path):
    archive = Archive(tmp_path / "a.db")
    archive.save_article(record("u1", "市政协召开会议", "讨论新质生产力。"))
    archive.close()
    # A writer without our functions (plain sqlite3) can mark an article gone: no indexed text changes.
    conn = sqlite3.connect(tmp_path / "a.db")
    if "gone_at" not in {r[1] for r in conn.execute("PRAGMA table_info(articles)")}:
        conn.execute("ALTER TABLE articles ADD COLUMN gone_at TEXT")
    conn.execute("UPDATE articles SET gone_at = '2025-01-01T00:00:00+00:00', last_seen = 'x' WHERE url = 'u1'")
    conn.commit()
    # ...but it cannot change indexed text behind the index's back: that fails loudly.
    with pytest.raises(sqlite3.OperationalError, match="no such function: govnews_fts_"):
        conn.execute("UPDATE articles SET body = '别的内容' WHERE url = 'u1'")
    conn.close()
    archive = Archive(tmp_path / "a.db")
    assert found(archive.db.conn, "政协") == reference(archive.db.conn, "政协") != set()
    cols = {r[1] for r in archive.db.execute("PRAGMA table_xinfo(articles)")}
    assert {"year", "month", "section", "gone"} <= cols
    assert archive.db.execute("SELECT gone FROM articles").fetchone()[0] == 1
    archive.close()


def test_reopen_repairs_an_index_that_drifted(tmp_path):
    path = tmp_path / "a.db"
    archive = Archive(path)
    archive.save_article(record("u1", "市政协召开会议", "讨论新质生产力。"))
    archive.close()
    # Someone rewrote the table with a tool that dropped our triggers, and wrote rows behind our back.
    conn = sqlite3.connect(path)
    for name in search.TRIGGERS:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("INSERT INTO articles(url, title, body) VALUES ('u2', '党委会', '2024年GDP增长')")
    conn.commit()
    conn.close()
    archive = Archive(path)
    conn = archive.db.conn
    for q in ("党", "政协", "GDP", "2024年"):
        assert found(conn, q) == reference(conn, q) != set(), q
    archive.db.execute("VACUUM")  # keeps rowids, so keeps the index right
    for q in ("党", "政协", "GDP", "2024年"):
        assert found(conn, q) == reference(conn, q) != set(), q
    archive.close()


def test_snippet_marks_hits():
    s = search.snippet("前文。" * 30 + "市政协召开会议，政协委员发言。" + "后文。" * 30, "政协")
    assert s.startswith("…") and s.endswith("…")
    assert s.count("<mark>政协</mark>") == 2
    assert search.snippet("GDP增长", "gdp") == "<mark>GDP</mark>增长"


def test_facet_columns_follow_every_write_and_facets_use_covering_indexes(tmp_path):
    archive = Archive(tmp_path / "a.db")
    db = archive.db
    db["articles"].insert(record("u1", "标题", "正文", published="2024-03-05T10:00:00+08:00",
                                 sections='["常州新闻", "部门动态"]'), pk="url")
    db["articles"].insert(record("u2", "标题", "正文", published="2023-12-31", sections="not json"), pk="url")

    def facets(url):
        return tuple(db.execute("SELECT year, month, section, gone FROM articles WHERE url = ?", [url]).fetchone())

    assert facets("u1") == ("2024", "2024-03", "常州新闻", 0)
    assert facets("u2") == ("2023", "2023-12", None, 0)
    db.execute("UPDATE articles SET published = '2025-01-02', sections = '[\"领导活动\"]', "
               "gone_at = '2025-02-01T00:00:00+00:00' WHERE url = 'u2'")
    assert facets("u2") == ("2025", "2025-01", "领导活动", 1)
    db.execute("UPDATE articles SET gone_at = NULL WHERE url = 'u2'")
    assert facets("u2")[3] == 0
    for col in ("site", "section", "year", "month", "issuer", "gone"):
        plan = " ".join(r[3] for r in db.execute(
            f"EXPLAIN QUERY PLAN SELECT {col}, count(*) FROM articles WHERE {col} IS NOT NULL GROUP BY {col}"))
        assert "COVERING INDEX" in plan, (col, plan)
    archive.close()


def test_facet_columns_replace_generated_ones_from_before(tmp_path):
    path = tmp_path / "a.db"
    with Archive(path) as archive:
        archive.save_article(record("u1", "标题", "正文", published="2024-03-05"))
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER articles_facets_ai")
    conn.execute("DROP TRIGGER articles_facets_au")
    conn.execute("DROP TRIGGER articles_facets_derive_ai")
    conn.execute("DROP INDEX idx_articles_year_published")
    conn.execute("ALTER TABLE articles DROP COLUMN year")
    conn.execute("ALTER TABLE articles ADD COLUMN year TEXT GENERATED ALWAYS AS (substr(published, 1, 4)) VIRTUAL")
    conn.execute("CREATE INDEX idx_articles_year_published ON articles(year, published)")
    conn.commit()
    conn.close()
    with Archive(path) as archive:
        hidden = {r[1]: r[6] for r in archive.db.execute("PRAGMA table_xinfo(articles)")}
        assert hidden["year"] == 0
        assert archive.db.execute("SELECT year FROM articles").fetchone()[0] == "2024"


def test_narrow_facet_table_follows_the_articles(random_archive):
    db = random_archive.db
    cols = "site, issuer, quality, year, month, section, gone, url, published, fetched_at, gone_at, version"

    def same() -> bool:
        return (list(db.execute(f"SELECT rowid, {cols} FROM articles ORDER BY rowid"))
                == list(db.execute(f"SELECT id, {cols} FROM {search.FACET_TABLE} ORDER BY id")))

    assert same()
    db.execute("UPDATE articles SET published = '2020-01-01', issuer = '市政府' WHERE rowid % 3 = 0")
    db.execute("UPDATE articles SET gone_at = '2025-01-01' WHERE rowid % 5 = 0")
    db.execute("UPDATE articles SET fetched_at = '2025-02-01', version = 3, quality = 'no_date' WHERE rowid % 2 = 0")
    db.execute("DELETE FROM articles WHERE rowid % 7 = 0")
    assert same()
