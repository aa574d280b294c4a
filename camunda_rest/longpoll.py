"""Long polling for fetchAndLock: a worker's request waits until tasks of its topics may be
free, then fetches again. The waiting request blocks on an event (no busy loop) and holds no
database connection; it is woken by this process's commands at once and by other processes'
(web nodes, Celery workers) through Redis pub/sub when a Redis URL is configured. A re-check
every few seconds also catches locks and retry timeouts that ran out."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict

from django.conf import settings

logger = logging.getLogger(__name__)

CHANNEL = "bpm:external-tasks"
_lock = threading.Lock()
_waiters: dict[str, set[threading.Event]] = defaultdict(set)
_subscriber: threading.Thread | None = None


def _redis_url() -> str:
    return settings.BPM.get("LONG_POLL_REDIS_URL", "")


def _wake(topics: list[str]) -> None:
    with _lock:
        events = {event for topic in topics for event in _waiters.get(topic, ())}
    for event in events:
        event.set()


def notify(topics: list[str]) -> None:
    """Tasks of these topics were created or freed (after the commit that did it)."""
    if not topics:
        return
    _wake(topics)
    if _redis_url():
        try:
            _publisher().publish(CHANNEL, "\n".join(sorted(set(topics))))
        except Exception:  # waiting workers still re-check on their own within seconds
            logger.warning("Could not publish external task topics to Redis", exc_info=True)


_clients: dict = {}


def _publisher():
    """One Redis client per process (it keeps a connection pool)."""
    url = _redis_url()
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(url, socket_timeout=1)
    return _clients[url]


def _listen(url: str) -> None:
    import redis

    while True:
        try:
            pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            for message in pubsub.listen():
                data = message.get("data")
                if isinstance(data, bytes):
                    _wake(data.decode().split("\n"))
        except Exception:
            logger.warning("Lost the Redis subscription for external tasks; subscribing again", exc_info=True)
            time.sleep(1)


def _ensure_subscriber() -> None:
    global _subscriber
    url = _redis_url()
    if not url or _subscriber is not None:
        return
    with _lock:
        if _subscriber is None:
            _subscriber = threading.Thread(target=_listen, args=(url,), name="external-task-topics", daemon=True)
            _subscriber.start()


class Listener:
    """Registered before the first fetch, so a task created in between is not missed."""

    def __init__(self, topics: list[str]):
        _ensure_subscriber()
        self.topics = list(topics)
        self.event = threading.Event()
        with _lock:
            for topic in self.topics:
                _waiters[topic].add(self.event)

    def wait(self, seconds: float) -> bool:
        """Block until tasks of a topic may be free (True) or ``seconds`` pass (False)."""
        woken = self.event.wait(max(seconds, 0))
        self.event.clear()
        return woken

    def close(self) -> None:
        with _lock:
            for topic in self.topics:
                _waiters[topic].discard(self.event)
                if not _waiters[topic]:
                    del _waiters[topic]

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def waiting_count() -> int:
    with _lock:
        return len({event for events in _waiters.values() for event in events})
