"""Who else follows where instances wait: listeners registered in their AppConfig.ready().

The engine's sync step (services/state.py) tells them, inside the instance's transaction,
which waiting points opened and closed; the tasks app opens and closes human tasks from
them. Processes never imports the apps above it; they register here instead.
"""

from __future__ import annotations

from typing import Protocol


class WaitingListener(Protocol):
    def open_tasks(self, *, instance, points, variables: dict): ...

    def close_tasks(self, *, instance, closed, completed_spiff_task_id, actor): ...

    def cancel_all(self, *, instance): ...


_LISTENERS: list[WaitingListener] = []


def register_listener(listener: WaitingListener) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def opened(*, instance, points, variables: dict) -> None:
    for listener in _LISTENERS:
        listener.open_tasks(instance=instance, points=points, variables=variables)


def closed(*, instance, closed, completed_spiff_task_id, actor) -> None:
    for listener in _LISTENERS:
        listener.close_tasks(
            instance=instance, closed=closed, completed_spiff_task_id=completed_spiff_task_id, actor=actor
        )


def cancelled(*, instance) -> None:
    for listener in _LISTENERS:
        listener.cancel_all(instance=instance)
