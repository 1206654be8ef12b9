"""scrapy-redis's priority queue, with a pop that records what a worker holds.

A request popped by a worker stays in the hash held:<worker> until the worker's envelope for it is on
the records stream (crawler.distributed.worker.EnvelopePipeline removes it in the same transaction); the
coordinator puts a dead worker's held requests back in the queue. One Lua script pops and holds, so a
kill -9 can never fall between the two.
"""

from __future__ import annotations

from scrapy_redis.queue import PriorityQueue

from crawler.distributed.redis import RunKeys

POP_AND_HOLD = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0)
if #r == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
local field = redis.sha1hex(r[1])
redis.call('HSET', KEYS[2], field, r[1])
return {field, r[1]}
"""

REQUEUE = """
local held = redis.call('HVALS', KEYS[2])
for _, data in ipairs(held) do redis.call('ZADD', KEYS[1], 0, data) end
redis.call('DEL', KEYS[2])
return #held
"""


class HeldPriorityQueue(PriorityQueue):
    def __init__(self, server, spider, key, serializer=None) -> None:
        super().__init__(server, spider, key, serializer)
        keys = RunKeys(spider.settings.get("GOVNEWS_REDIS_PREFIX"))
        self.held_key = keys.held(spider.settings.get("GOVNEWS_WORKER_ID"))
        self._pop = server.register_script(POP_AND_HOLD)

    def pop(self, timeout: int = 0):
        got = self._pop(keys=[self.key, self.held_key])
        if not got:
            return None
        field, data = got
        request = self._decode_request(data)
        request.meta["govnews_held"] = field.decode() if isinstance(field, bytes) else field
        return request


def requeue(server, keys: RunKeys, worker: str) -> int:
    """Put every request `worker` held back in the queue; returns how many."""
    return server.register_script(REQUEUE)(keys=[keys.requests, keys.held(worker)])
