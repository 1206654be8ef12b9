"""One crawl on many machines: a Redis frontier (scrapy-redis), workers anywhere, one archive writer.

- redis.py: connecting, the keys of one run, and the run a coordinator has published;
- queue.py: scrapy-redis's priority queue whose pop also records the request as held by the worker
  (one Lua script), so a killed worker's requests are put back;
- throttle.py: per-host politeness for all workers together (≤ N in flight, ≥ delay apart), on Redis;
- worker.py: `govnews worker`: the worker's settings, its pipeline (one envelope per request onto a
  Redis stream), heartbeat and idle wait;
- coordinator.py: `govnews crawl --redis`: seeds the frontier, consumes the stream into SQLite in
  batched transactions (acknowledged after commit), decides what follows, ends the run.

See docs/distributed.md.
"""
