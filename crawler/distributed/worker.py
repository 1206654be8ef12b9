"""`govnews worker --redis URL`: fetch, extract and capture for whichever run a coordinator publishes.

A worker waits (blocking on Redis, not polling) for a published run, crawls it with scrapy-redis's
scheduler and duplicate filter under that run's keys, writes its own WARC files (its id in their names)
and sends one Envelope per request to the run's records stream; it ends when the coordinator marks
the run done, and waits for the next one. Components here:

- EnvelopePipeline: the worker's one pipeline; each envelope goes on the stream and the request leaves
  held:<worker> in one transaction (MULTI), so nothing is lost between the two;
- CaptureRelay: where the capture middleware's index rows go on a worker (into the envelope), and
  cluster-wide revisits (payload digests shared on Redis);
- WorkerLife: heartbeat (alive:<worker>, a short TTL), and an idle worker waits on the run's wake list
  (taking work the moment it comes, leaving the moment the run is done) instead of Scrapy's 5 s idle poll.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import socket
import subprocess
import sys
import time
import weakref

from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from crawler.distributed.records import Envelope
from crawler.distributed.redis import CURRENT, RedisUnavailable, RunKeys, connect, published_run

log = logging.getLogger(__name__)
HEARTBEAT = 2.0  # seconds between heartbeats
ALIVE_TTL = 10  # seconds a heartbeat counts; the coordinator re-queues what a silent worker held
IDLE_WAIT = 3.0  # seconds an idle worker waits for work (blocking on Redis) per Scrapy idle call
RUN_WAIT = 5  # seconds a worker between runs blocks on Redis for a published run, per look


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def worker_settings(run: dict, redis_url: str, worker_id: str, warc_dir: str) -> dict:
    """The Scrapy settings of one worker for one run (on top of crawler.settings)."""
    keys = RunKeys(run["prefix"])
    return {
        **run.get("settings", {}),
        "GOVNEWS_REDIS": redis_url, "GOVNEWS_REDIS_PREFIX": keys.prefix, "GOVNEWS_WORKER_ID": worker_id,
        "GOVNEWS_RUN_ID": run["run"], "GOVNEWS_WARC_DIR": warc_dir,
        "GOVNEWS_CAPTURE_INDEX": "crawler.distributed.worker.CaptureRelay",
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler", "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.queue.HeldPriorityQueue",
        "SCHEDULER_QUEUE_KEY": keys.requests, "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter", "REDIS_URL": redis_url,
        # Politeness is the cluster's (crawler.distributed.throttle), not this process's.
        "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "ITEM_PIPELINES": {"crawler.distributed.worker.EnvelopePipeline": 300},
        "EXTENSIONS": {"crawler.extensions.error_stats.ErrorStats": 500, "crawler.progress.ProgressLine": None,
                       "crawler.distributed.worker.WorkerLife": 510},
        "GOVNEWS_PROGRESS": False, "LOG_LEVEL": "WARNING",
    }


class EnvelopePipeline:
    def __init__(self, crawler) -> None:
        s = crawler.settings
        self.server = connect(s.get("GOVNEWS_REDIS"))
        self.keys = RunKeys(s.get("GOVNEWS_REDIS_PREFIX"))
        self.worker = s.get("GOVNEWS_WORKER_ID")
        crawler.signals.connect(self.request_dropped, signal=signals.request_dropped)

    @classmethod
    def from_crawler(cls, crawler) -> EnvelopePipeline:
        return cls(crawler)

    def send(self, envelope: Envelope, held: str | None) -> None:
        envelope.worker = self.worker
        pipe = self.server.pipeline(transaction=True)
        pipe.xadd(self.keys.records, {"e": pickle.dumps(envelope, protocol=pickle.HIGHEST_PROTOCOL)})
        if held:
            pipe.hdel(self.keys.held(self.worker), held)
        pipe.execute()

    def process_item(self, item):
        if isinstance(item, Envelope):
            self.send(item, item.held)
        return item

    def request_dropped(self, request, spider=None) -> None:
        # A duplicate the dupefilter dropped still answers its request: an empty envelope.
        if request.meta.get("govnews_token"):
            self.send(Envelope(request.meta["govnews_token"]), request.meta.get("govnews_held"))


class CaptureRelay:
    """On a worker: capture index rows travel with the request to its envelope; revisits are found
    through payload digests the run's workers share on Redis."""

    _relays: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, crawler) -> CaptureRelay:
        if crawler not in cls._relays:
            cls._relays[crawler] = cls(crawler)
        return cls._relays[crawler]

    def __init__(self, crawler) -> None:
        s = crawler.settings
        self.server = connect(s.get("GOVNEWS_REDIS"))
        self.keys = RunKeys(s.get("GOVNEWS_REDIS_PREFIX"))
        self.run_id = s.getint("GOVNEWS_RUN_ID")
        self.full: str | None = None  # this worker's disk is full: it answers its requests with disk_full

    def disk_full(self, exc: Exception, where) -> None:
        from crawler.errors import disk_full_message

        self.full = disk_full_message(exc, where)
        log.error("%s: this worker archives nothing more until it restarts", self.full)

    def original_capture(self, digest: str) -> dict | None:
        raw = self.server.hget(self.keys.digests, digest)
        return json.loads(raw) if raw else None

    def save_capture(self, url, kind, status, mime, size, capture, request=None) -> None:
        request.meta.setdefault("govnews_capture_rows", []).append((url, kind, status, mime, size, capture))
        if capture.revisit_of is None and 200 <= status < 300 and size:
            self.server.hsetnx(self.keys.digests, capture.payload_digest, json.dumps(
                {"url": url, "date": capture.warc_date, "record_id": capture.record_id}))


class WorkerLife:
    def __init__(self, crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.server = connect(s.get("GOVNEWS_REDIS"))
        self.keys = RunKeys(s.get("GOVNEWS_REDIS_PREFIX"))
        self.worker = s.get("GOVNEWS_WORKER_ID")
        self.loop = None
        self.queue = None
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.idle, signal=signals.spider_idle)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler) -> WorkerLife:
        return cls(crawler)

    def beat(self) -> None:
        import redis

        try:
            self.server.set(self.keys.alive(self.worker), "1", ex=ALIVE_TTL)
        except redis.RedisError as e:
            # Redis is gone: nothing this crawl does can reach the coordinator any more (and Scrapy's engine
            # would stall on the scrapy-redis scheduler). Stop; the parent says so and exits.
            log.error("lost the Redis server (%s): leaving run %s", e, self.keys.prefix)
            from twisted.internet import reactor

            if reactor.running:
                reactor.stop()

    def opened(self, spider=None) -> None:
        from twisted.internet import task

        self.server.sadd(self.keys.workers, self.worker)
        self.beat()
        self.loop = task.LoopingCall(self.beat)
        self.loop.start(HEARTBEAT, now=False)

    def idle(self, spider=None) -> None:
        """Nothing in flight: end if the run is done; else take work at once, or wait for it on the run's
        wake list (at most IDLE_WAIT s) instead of Scrapy's next 5 s idle check. Every wake-up looks again
        (a wake another worker answered, or the run's end, is never a 5 s wait)."""
        deadline = time.monotonic() + IDLE_WAIT
        while True:
            if self.server.exists(self.keys.done):
                return
            if not self.server.exists(self.keys.coordinator):
                log.warning("run %s: its coordinator stopped; leaving the run", self.keys.prefix)
                return
            self.beat()
            if self.take_one():
                break
            left = round(deadline - time.monotonic(), 2)
            if left < 0.05:  # (a BLPOP timeout that rounds to 0 ms would block for ever)
                break
            # Nothing is in flight, so blocking the reactor here costs nothing.
            self.server.blpop([self.keys.wake], timeout=left)
        raise DontCloseSpider

    def take_one(self) -> bool:
        """Pop (and hold) one queued request and hand it to the engine; False if the queue is empty."""
        if self.queue is None:
            from crawler.distributed.queue import HeldPriorityQueue

            self.queue = HeldPriorityQueue(self.server, self.crawler.spider, self.keys.requests)
        request = self.queue.pop()  # popped and held
        if request is None:
            return False
        # engine.crawl() wakes the engine (Scrapy's public way in): the scheduler puts the request back on
        # Redis and pops (and holds) it again at once, so the first hold can go.
        held = request.meta.pop("govnews_held")
        request.dont_filter = True  # already admitted by the coordinator
        self.crawler.engine.crawl(request)
        self.server.hdel(self.keys.held(self.worker), held)
        return True

    def closed(self, spider=None, reason=None) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
        self.server.srem(self.keys.workers, self.worker)
        self.server.delete(self.keys.alive(self.worker))


def run_worker(redis_url: str, worker_id: str, warc_dir: str, once: bool = False) -> int:
    """Wait for published runs and crawl each in a child process (a reactor runs once per process).
    RedisUnavailable when the Redis server goes away."""
    import redis

    try:
        return _run_worker(redis_url, worker_id, warc_dir, once)
    except redis.RedisError as e:
        raise RedisUnavailable(f"lost the Redis server at {redis_url}: {e}") from None


def _run_worker(redis_url: str, worker_id: str, warc_dir: str, once: bool) -> int:
    server = connect(redis_url)
    seen: set[str] = set()  # run prefixes (run ids repeat across archives: a new archive's first run is 1 too)
    while True:
        run = published_run(server)
        if run is None or run["prefix"] in seen or server.exists(RunKeys(run["prefix"]).done):
            server.blpop([f"{CURRENT}:wake"], timeout=RUN_WAIT)  # blocks; woken when a run is published
            continue
        seen.add(run["prefix"])
        log.info("worker %s: joining run %s", worker_id, run["run"])
        done = subprocess.run([sys.executable, "-m", "crawler.distributed.worker", redis_url, worker_id, warc_dir,
                               json.dumps(run)])
        if once:
            return done.returncode


def crawl_run(redis_url: str, worker_id: str, warc_dir: str, run: dict) -> None:
    """One run, in this process."""
    from scrapy.crawler import CrawlerProcess

    from crawler.run import crawl_settings
    from crawler.spiders.worker import WorkerSpider

    site = pickle.loads(base64.b64decode(run["site"]))
    settings = crawl_settings(site, "", {})
    for k, v in {**worker_settings(run, redis_url, worker_id, warc_dir), **run["cluster"]}.items():
        settings.set(k, v, priority="cmdline")
    dmw = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    dmw["crawler.distributed.throttle.ClusterThrottleMiddleware"] = 960
    settings.set("DOWNLOADER_MIDDLEWARES", dmw, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(WorkerSpider, site=site)
    process.start()


if __name__ == "__main__":
    import warnings

    from scrapy.exceptions import ScrapyDeprecationWarning

    warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module="scrapy_redis")
    crawl_run(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
