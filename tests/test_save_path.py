"""The crawl's save path (archive.rows, crawler.batch): batched commits, one connection shared by the
writers of one process, and the bigram text computed where extraction ran — on real SQLite files."""

from __future__ import annotations

import sqlite3

import pytest
from scrapy.utils.test import get_crawler

from archive import rows
from archive.search import register_functions, runs, search
from archive.store import Archive
from crawler.batch import Batch
from crawler.extractpool import extract_with_index_text
from crawler.items import Article, ListingPage
from crawler.sites import parse_site
from crawler.writer import ArchiveWriter
from fixtures.sites.generated import Generated
from tests.crawlkit import q


def site(name: str):
    return parse_site({"name": name, "base_url": f"http://{name}.test/",
                       "sections": [{"name": "要闻", "url": "/yw/"}]}, "test")


def record(name: str, i: int, body: str = "正文第一段。") -> dict:
    return {"url": f"http://{name}.test/art/{i}.html", "site": name, "title": f"标题{i}", "body": body,
            "published": "2024-01-02", "fetched_at": "2024-01-02T00:00:00Z"}


def writer_for(db, **settings) -> ArchiveWriter:
    return ArchiveWriter.of(get_crawler(settings_dict={"GOVNEWS_DB": str(db), **settings}))


def test_writes_commit_every_n_items_and_at_the_end(tmp_path):
    db = tmp_path / "a.db"
    w = writer_for(db, GOVNEWS_COMMIT_ITEMS=5, GOVNEWS_COMMIT_SECONDS=3600)
    w.open_run(site("a"))
    assert q(db, "SELECT status FROM crawl_runs") == [("running",)]  # the run is committed at once
    for i in range(4):
        w.write(Article("要闻", record("a", i)))
    assert q(db, "SELECT count(*) FROM articles") == [(0,)]  # another connection: the batch is not committed
    w.write(Article("要闻", record("a", 4)))
    assert q(db, "SELECT count(*) FROM articles") == [(5,)]  # the fifth write committed the batch
    w.write(Article("要闻", record("a", 5)))
    w.finish_run("finished")
    w.close()
    assert q(db, "SELECT count(*) FROM articles") == [(6,)]
    assert q(db, "SELECT status, new FROM crawl_runs") == [("ok", 6)]


def test_two_sites_in_one_process_share_one_connection_and_batch(tmp_path):
    db = tmp_path / "a.db"
    a = writer_for(db, GOVNEWS_COMMIT_ITEMS=1000, GOVNEWS_COMMIT_SECONDS=3600)
    b = writer_for(db, GOVNEWS_COMMIT_ITEMS=1000, GOVNEWS_COMMIT_SECONDS=3600)
    a.open_run(site("a"))
    b.open_run(site("b"))
    assert a.batch is b.batch
    for i in range(3):  # interleaved writes of both sites: one open transaction, no lock waits
        a.write(ListingPage("要闻", "http://a.test/yw/", 1, [{"url": record("a", i)["url"]}]))
        b.write(Article("要闻", record("b", i)))
        a.write(Article("要闻", record("a", i)))
    a.finish_run("finished")  # commits everything written so far, b's writes too
    assert q(db, "SELECT count(*) FROM articles") == [(6,)]
    a.close()
    b.write(Article("要闻", record("b", 9)))
    b.finish_run("finished")
    b.close()
    assert q(db, "SELECT site, count(*) FROM articles GROUP BY site") == [("a", 3), ("b", 4)]
    assert q(db, "SELECT sections FROM articles WHERE site = 'a' LIMIT 1") == [('["要闻"]',)]


def test_bigram_text_from_extraction_is_used_only_for_the_text_it_was_computed_from(tmp_path):
    gen = Generated(5, 1)
    path = gen.article_paths()[0]
    extracted = extract_with_index_text(f"http://a.test{path}", gen.respond(path)[2])
    assert set(extracted["fts_text"]) == {"body", "title"}
    same = {**extracted, "url": "http://a.test/art/1.html", "site": "a"}
    # The spider may change a field after extraction (a listed title for a missing one): its stale
    # bigram text must not be indexed.
    changed = {**same, "url": "http://a.test/art/2.html", "title": "另一个标题"}
    db = tmp_path / "a.db"
    w = writer_for(db)
    w.open_run(site("a"))
    w.write(Article("要闻", same))
    w.write(Article("要闻", changed))
    w.finish_run("finished")
    w.close()
    conn = sqlite3.connect(db)
    register_functions(conn)
    found = {r["url"] for r in search(conn, extracted["title"])}
    assert found == {"http://a.test/art/1.html"}
    assert {r["url"] for r in search(conn, "另一个标题")} == {"http://a.test/art/2.html"}
    body_word = runs(extracted["body"])[0][:4]
    assert {r["url"] for r in search(conn, body_word)} == {"http://a.test/art/1.html", "http://a.test/art/2.html"}
    conn.close()


def index_instances(db) -> tuple[list, list]:
    """Every (term, row, column, offset) the search index holds, and its documents' sizes."""
    conn = sqlite3.connect(db)
    conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, articles_fts, 'instance')")
    got = (conn.execute("SELECT term, doc, col, offset FROM temp.terms ORDER BY 1, 2, 3, 4").fetchall(),
           conn.execute("SELECT id, sz FROM articles_fts_docsize ORDER BY id").fetchall())
    conn.close()
    return got


def test_a_batch_writes_the_same_search_index_at_commit_as_the_triggers_write_per_row(tmp_path):
    writes = [record("a", 1), record("a", 2, "政协委员提出建议。"), record("a", 3),
              record("a", 2, "政协委员的建议已办理。")]  # the last one changes a row: delete + insert
    # A write that fails after its row was inserted (an attachment without a url): rolled back alone.
    broken = {**record("a", 4, "不应被索引的正文。"), "attachments": [{"name": "无链接"}]}
    by_trigger, queued = tmp_path / "trigger.db", tmp_path / "queued.db"
    with Archive(by_trigger) as archive:  # no batch: every write its own transaction, the triggers index
        for r in writes:
            archive.save_article(r)
    batch = Batch.acquire(queued, items=1000, seconds=3600)
    for r in writes[:2]:
        with batch.write():
            rows.save_article(batch.conn, r)
    with pytest.raises(KeyError), batch.write():
        rows.save_article(batch.conn, broken)
    for r in writes[2:]:
        with batch.write():
            rows.save_article(batch.conn, r)
    assert batch.index.ops and q(queued, "SELECT count(*) FROM articles_fts_docsize") == [(0,)]  # queued
    batch.release()
    assert not batch.index.ops
    assert index_instances(queued) == index_instances(by_trigger)
    assert q(queued, "SELECT count(*) FROM articles") == [(3,)]
    conn = sqlite3.connect(queued)
    assert [r["url"] for r in search(conn, "办理")] == [record("a", 2)["url"]]
    assert list(search(conn, "提出")) == [] and list(search(conn, "不应")) == []
    conn.close()
