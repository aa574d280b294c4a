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

    def migrate_tasks(self, *, instance, moved: dict, variables: dict, reevaluate: bool): ...


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


def migrated(*, instance, moved: dict[str, tuple[str, str]], variables: dict, reevaluate: bool) -> None:
    """The instance now runs ``instance.definition``; ``moved``: spiff task id -> (old, new
    element id) of points whose element changed. ``reevaluate``: assignments are read again."""
    for listener in _LISTENERS:
        hook = getattr(listener, "migrate_tasks", None)
        if hook is not None:
            hook(instance=instance, moved=moved, variables=variables, reevaluate=reevaluate)
