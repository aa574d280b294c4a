"""What a run reports back (steps, waiting points, the outcome) and the keys a run keeps on
SpiffWorkflow tasks; shared by runtime.py and its step and event halves."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

# How often one command lets conditional events fire in a row (a condition that flips its
# own variables back and forth would otherwise never end).
MAX_CONDITION_ROUNDS = 100

# Completed steps of one run between two compactions of the task tree (see compaction.py).
COMPACT_EVERY = 64

clock = time.time  # SpiffWorkflow stamps state changes with time.time() too


@dataclass
class Step:
    """A BPMN element that completed during a run."""

    element_id: str
    element_type: str
    name: str
    # From when the element began waiting (it was ready or waiting when the run began) or
    # else from the previous step of this run, to its completion: the heat overlay's average.
    duration_s: float | None = None


@dataclass
class WaitPoint:
    """A point where the workflow waits for a person, the clock or an event."""

    spiff_task_id: str
    element_id: str
    element_type: str
    name: str
    kind: str  # user, manual, service, external, receive, async, timer, message, signal, conditional, other
    event_name: str = ""
    due_at: datetime | None = None
    # The waiting task's own data (user/manual tasks): a multi-instance child's element variable lives here.
    data: dict | None = None
    # The process the element belongs to: the instance's own, or a process a call activity runs
    # (and which version of it the call runs, when the call recorded it).
    process_key: str = ""
    process_definition_id: int | None = None


@dataclass
class RunOutcome:
    """The result of an action on a workflow: new state, what ran, where it waits."""

    state: dict
    status: str  # running, completed, error
    variables: dict
    steps: list[Step] = field(default_factory=list)
    waiting: list[WaitPoint] = field(default_factory=list)
    error_message: str = ""
    error_element_id: str = ""
    unhandled_events: list[dict] = field(default_factory=list)
    # business rule tasks that ran: element id, decision key and its results
    decisions: list[dict] = field(default_factory=list)


COMPENSATION_KEY = "bpm_compensation"  # on a workflow's root task: what may be compensated
COMPENSATING = "bpm_compensating"  # on a compensation throw: the handler tasks it started
_ABSENT = object()
ASYNC_HOLD = "bpm_async_hold"  # set on the tasks after an asyncAfter task
ASYNC_PASSED = "bpm_async_passed"  # set when an asyncBefore task's job released it


class EngineActionError(Exception):
    """An action that does not apply to the workflow as it stands (e.g. the task is not ready)."""


def _element_type(task_spec) -> str:
    return getattr(task_spec, "bpmn_type", None) or type(task_spec).__name__
