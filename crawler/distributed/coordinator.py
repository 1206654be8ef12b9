"""The coordinator of a distributed run (`govnews crawl --redis URL`): the one archive writer.

It publishes the run (site, keys, settings) for the workers, seeds the shared queue with the section
listings and what the frontier re-queues, then consumes the workers' envelopes from the run's records
stream (a consumer group) in batches: each batch is one SQLite transaction, acknowledged only after it
commits. For each envelope it asks the same spider code a single-process crawl uses what follows
(crawler.spiders.news: after_listing, after_article — the walk controller and the frontier) and pushes
the resulting requests. The run ends when every request it pushed has its envelope; requests held by
a worker whose heartbeat stopped are put back in the queue.
"""

from __future__ import annotations

import base64
import json
import logging
import pickle
import threading
import time
import uuid
from types import SimpleNamespace

import redis
from scrapy import Request
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.request import fingerprint
from scrapy_redis.queue import PriorityQueue

from crawler.distributed.queue import requeue
from crawler.distributed.records import ArticleResult, Envelope, ListingFailed, ListingResult, ResourceWanted
from crawler.distributed.redis import CURRENT, RunKeys, connect
from crawler.spiders.news import NewsSpider
from crawler.writer import ArchiveWriter

log = logging.getLogger(__name__)
GROUP = "writer"
BATCH = 500  # envelopes per transaction at most
READ_BLOCK = 1.0  # seconds the coordinator blocks on the records stream per read
CHECK_WORKERS = 5.0  # seconds between checks for silent workers
COORDINATOR_TTL = 15  # seconds: workers give up a run whose coordinator stopped (a kill -9) for this long
COORDINATOR_BEAT = 2.0  # seconds between refreshes of the coordinator's key


class Coordinator:
    def __init__(self, site, settings, redis_url: str) -> None:
        self.site, self.settings, self.redis_url = site, settings, redis_url
        self.server = connect(redis_url)
        self.run_id = settings.getint("GOVNEWS_RUN_ID")
        self.keys = RunKeys(f"govnews:r{self.run_id}-{uuid.uuid4().hex[:8]}")
        self.crawler = SimpleNamespace(settings=settings, spider=None)
        self.crawler.stats = MemoryStatsCollector(self.crawler)
        self.writer = ArchiveWriter(self.crawler)
        self.spider = NewsSpider(site)
        self.spider.crawler = self.crawler
        self.spider.settings = settings
        self.spider.apply_settings(settings)  # as a single-process crawl's spider (walk, frontier, resources)
        self.queue = PriorityQueue(self.server, self.spider, self.keys.requests)  # workers pop it (and hold)
        self.outstanding: set[str] = set()
        self.seen: set[bytes] = set()  # fingerprints of the requests pushed that are not dont_filter
        self.requests = self.bytes = 0
        self.ended = threading.Event()
        self.lost: Exception | None = None  # the Redis error that stopped the run

    # -- the run ----------------------------------------------------------------------------------------
    def run(self) -> SimpleNamespace:
        """Crawl the site; returns an object with the run's stats, like a Scrapy crawler's."""
        state = self.writer.open_run(self.site)
        self.spider.open_frontier(state)
        self.server.xgroup_create(self.keys.records, GROUP, id="0", mkstream=True)
        for section in self.site.sections:
            self.push(self.spider.listing_request(self.spider.walk.start(section.name, section.url), section, page=1))
        for fetch in self.spider.frontier.at_start():
            self.push(self.spider.fetch_request(fetch))
        self.server.set(self.keys.coordinator, "1", ex=COORDINATOR_TTL)
        # The key says "this process is alive", from a thread of its own: a long batch (a loaded machine,
        # a slow fsync) must not look like a dead coordinator, or every worker would leave the run.
        threading.Thread(target=self.keep_alive, name="coordinator-alive", daemon=True).start()
        self.publish()
        reason = "finished"
        try:
            self.consume()
        except KeyboardInterrupt:
            reason = "shutdown"
        except redis.RedisError as e:  # Redis stopped (or the network to it): the run cannot go on
            reason, self.lost = "failed", e
            log.error("lost the Redis server at %s (%s): run %s stopped and marked failed; what is archived "
                      "stays, the next run fetches the rest", self.redis_url, e, self.run_id)
        finally:
            self.end(reason)
        return self.crawler

    def publish(self) -> None:
        polite = self.site.polite
        run = {"run": self.run_id, "prefix": self.keys.prefix, "site": base64.b64encode(pickle.dumps(self.site)).decode(),
               "settings": worker_overrides(self.settings),
               "cluster": {"GOVNEWS_CLUSTER_DELAY": self.settings.getfloat("DOWNLOAD_DELAY") if polite else 0.0,
                           "GOVNEWS_CLUSTER_PER_HOST": self.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 2)
                           if polite else 16}}
        self.server.set(CURRENT, json.dumps(run))
        self.server.rpush(f"{CURRENT}:wake", *["1"] * 64)  # wake the waiting workers
        self.server.expire(f"{CURRENT}:wake", 30)

    def push(self, request: Request) -> None:
        if not request.dont_filter:  # Scrapy's duplicate filter, as in one process (a page resource once a run)
            seen = fingerprint(request)
            if seen in self.seen:
                return
            self.seen.add(seen)
        token = uuid.uuid4().hex
        request.meta["govnews_token"] = token
        self.queue.push(request)
        self.outstanding.add(token)

    def keep_alive(self) -> None:
        while not self.ended.wait(COORDINATOR_BEAT):
            try:
                self.server.set(self.keys.coordinator, "1", ex=COORDINATOR_TTL)
            except redis.RedisError:
                return  # consume() meets the same error and ends the run

    def consume(self) -> None:
        checked = time.monotonic()
        while self.outstanding:
            got = self.server.xreadgroup(GROUP, "coordinator", {self.keys.records: ">"}, count=BATCH,
                                       block=int(READ_BLOCK * 1000))
            entries = got[0][1] if got else []
            if entries:
                with self.writer.transaction():  # the batch: one transaction
                    for _, fields in entries:
                        self.handle(pickle.loads(fields[b"e"]))
                self.server.xack(self.keys.records, GROUP, *[eid for eid, _ in entries])  # after commit
                self.server.rpush(self.keys.wake, *["1"] * max(1, self.server.scard(self.keys.workers)))
                self.server.expire(self.keys.wake, 30)
            if time.monotonic() - checked > CHECK_WORKERS:
                checked = time.monotonic()
                self.requeue_silent_workers()

    def requeue_silent_workers(self) -> None:
        for raw in self.server.smembers(self.keys.workers):
            worker = raw.decode()
            if not self.server.exists(self.keys.alive(worker)):
                n = requeue(self.server, self.keys, worker)
                self.server.srem(self.keys.workers, worker)
                self.crawler.stats.inc_value("govnews/requeued", n)  # recorded in crawl_runs.requeued
                log.warning("worker %s stopped answering: %d requests it held are queued again", worker, n)

    def handle(self, envelope: Envelope) -> None:
        if envelope.token not in self.outstanding:
            return  # a request answered twice (re-queued from a worker that was only slow)
        self.outstanding.discard(envelope.token)
        for url, kind, status, mime, size, capture in envelope.captures:
            self.writer.save_capture(url, kind, status, mime, size, capture)
            self.requests += 1
            self.bytes += size
        for item in envelope.items:
            for out in self.follow(item):
                if isinstance(out, Request):
                    self.push(out)
                else:
                    self.writer.write(out)

    def follow(self, item):
        if isinstance(item, ListingResult):
            return self.spider.after_listing(item.section, item.url, item.page, item.listing)
        if isinstance(item, ListingFailed):
            return self.spider.after_listing_failure(item.section)
        if isinstance(item, ArticleResult):
            return self.spider.after_article(item.section, item.record)
        if isinstance(item, ResourceWanted):
            return [self.spider.resource_request(item.resource, item.section, item.depth)]
        return [item]

    def end(self, reason: str) -> None:
        self.ended.set()
        stats = self.crawler.stats
        stats.set_value("downloader/request_count", self.requests)
        stats.set_value("downloader/response_bytes", self.bytes)
        stats.set_value("finish_reason", reason)
        try:
            self.server.set(self.keys.done, "1")
            self.server.rpush(self.keys.wake, *["1"] * max(1, self.server.scard(self.keys.workers)))
        except redis.RedisError:
            if self.lost is None:
                raise
        self.writer.finish_run(reason if self.outstanding or reason != "finished" else "finished")
        self.writer.close()
        if self.lost is None:
            self.clean_up()

    def clean_up(self) -> None:
        # Workers see `done` and stop; the run's other keys go (a next run never meets its fingerprints).
        for key in self.keys.all(self.server):
            if key != self.keys.done:
                self.server.delete(key)
        self.server.expire(self.keys.done, 600)
        if json.loads(self.server.get(CURRENT) or "{}").get("prefix") == self.keys.prefix:
            self.server.delete(CURRENT)


# Settings of the coordinator's own (its archive, logs, Redis, progress line): not the workers' business.
LOCAL_SETTINGS = frozenset({"GOVNEWS_DB", "GOVNEWS_SITE", "GOVNEWS_ARGV", "GOVNEWS_RUN_ID", "GOVNEWS_WARC_DIR",
                            "GOVNEWS_LOG_DIR", "GOVNEWS_LOG_FILE", "GOVNEWS_PROGRESS", "GOVNEWS_REDIS",
                            "LOG_INSTALL_ROOT_HANDLER"})
PUBLISHED = ("GOVNEWS_ATTACHMENTS", "GOVNEWS_ATTACHMENT_MAXSIZE", "GOVNEWS_WARC_MAX_SIZE", "GOVNEWS_WARC_GZIP_LEVEL",
             "GOVNEWS_OPERATOR", "DOWNLOAD_TIMEOUT", "RETRY_TIMES", "ROBOTSTXT_OBEY", "USER_AGENT")


def worker_overrides(settings) -> dict:
    """What the workers take from this run's settings: everything given on the command line (options
    and -s, as a single-process crawl's spider and middlewares would see them), besides the local ones."""
    out = {k: settings.get(k) for k in PUBLISHED if settings.get(k) is not None}
    cmdline = SETTINGS_PRIORITIES["cmdline"]
    for name in settings:
        if name in LOCAL_SETTINGS or settings.getpriority(name) != cmdline:
            continue
        value = settings[name]
        try:
            json.dumps(value)
        except TypeError:
            log.warning("setting %s (%r) is not passed to the workers: not JSON", name, value)
            continue
        out[name] = value
    return out


def crawl_distributed(site, settings, redis_url: str) -> SimpleNamespace:
    return Coordinator(site, settings, redis_url).run()
