"""Long polling for fetchAndLock: a worker's request waits until tasks of its topics may be
free, then fetches again. The waiting request blocks on an event (no busy loop) and holds no
database connection; it is woken by this process's commands at once and by other processes'
(web nodes, Celery workers) through Redis pub/sub when a Redis URL is configured. A re-check
every few seconds also catches locks and retry timeouts that ran out."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict

from django.conf import settings

logger = logging.getLogger(__name__)

CHANNEL = "bpm:external-tasks"
_lock = threading.Lock()
# topic -> waiting requests in the order they began, each with whether it takes any task of
# the topic (no business key, definition or variable filter)
_waiters: dict[str, dict[threading.Event, bool]] = defaultdict(dict)
_subscriber: threading.Thread | None = None


def _redis_url() -> str:
    return settings.BPM.get("LONG_POLL_REDIS_URL", "")


def _wake(topics: list[str]) -> None:
    """A topic named n times had n tasks created or freed: n of its unfiltered waiters are woken
    (the longest waiting first; each will fetch, so one task does not wake a herd of fetches),
    and every waiter with filters, which may or may not match them."""
    chosen: set[threading.Event] = set()
    with _lock:
        for topic, count in Counter(topics).items():
            for event, takes_any in _waiters.get(topic, {}).items():
                if not takes_any:
                    chosen.add(event)
                elif count > 0 and event not in chosen and not event.is_set():
                    chosen.add(event)
                    count -= 1
    for event in chosen:
        event.set()


def notify(topics: list[str]) -> None:
    """Tasks of these topics were created or freed (after the commit that did it), a topic
    once per task."""
    if not topics:
        return
    _wake(topics)
    if _redis_url():
        try:
            _publisher().publish(CHANNEL, "\n".join(sorted(topics)))
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
    """Registered before the first fetch, so a task created in between is not missed.

    ``topics``: topic -> whether the request takes any task of it (no filters)."""

    def __init__(self, topics: dict[str, bool]):
        _ensure_subscriber()
        self.topics = dict(topics)
        self.event = threading.Event()
        with _lock:
            for topic, takes_any in self.topics.items():
                _waiters[topic][self.event] = takes_any

    def wait(self, seconds: float) -> bool:
        """Block until tasks of a topic may be free (True) or ``seconds`` pass (False)."""
        woken = self.event.wait(max(seconds, 0))
        self.event.clear()
        return woken

    def close(self) -> None:
        with _lock:
            for topic in self.topics:
                _waiters[topic].pop(self.event, None)
                if not _waiters[topic]:
                    del _waiters[topic]
        if self.event.is_set():
            # woken for a task it will not fetch (it is answering with others): wake another
            _wake([topic for topic, takes_any in self.topics.items() if takes_any])

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def waiting_count() -> int:
    with _lock:
        return len({event for events in _waiters.values() for event in events})
