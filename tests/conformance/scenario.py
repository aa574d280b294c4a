"""Run one manifest process entry (../shared/conformance/README.md): start it, run its
scenario steps (or complete tasks as they become ready), and check the outcome, the
variables and the path it took (``visited`` / ``not_visited``) against its history."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bpm.durations import parse_duration
from bpm.exceptions import ApplicationError
from processes import jobs, services
from processes.choices import HistoryKind
from processes.models import HistoryEvent, Job, ProcessDefinition, ProcessInstance, WaitingStep
from tasks.models import HumanTask

MAX_STEPS = 500
HUMAN = ("user", "manual")


class Scenario:
    """One process entry of a manifest, run against the engine through its services."""

    def __init__(self, expected: dict):
        self.expected = expected
        self.started_at = timezone.now()
        self.clock = self.started_at
        self.user = None
        self.instance: ProcessInstance | None = None
        self.last_error: Exception | None = None
        self.snapshot: tuple | None = None

    # -- starting ---------------------------------------------------------------------
    def start(self) -> None:
        e = self.expected
        if e.get("started_by"):
            self.user, _ = get_user_model().objects.get_or_create(username=e["started_by"])
        variables = e.get("start_variables") or {}
        business_key = e.get("business_key", "")
        try:
            if e.get("start_message"):
                (self.instance,) = services.message_correlate(
                    message_name=e["start_message"], business_key=business_key, payload=variables, user=self.user
                )
            elif e.get("start_signal"):
                before = set(ProcessInstance.objects.values_list("pk", flat=True))
                services.signal_broadcast(signal_name=e["start_signal"], payload=variables, user=self.user)
                self.instance = ProcessInstance.objects.exclude(pk__in=before).get(definition__key=e["process"])
            else:
                definition = ProcessDefinition.objects.get(key=e["process"], is_active=True)
                self.instance = services.instance_start(
                    definition=definition, variables=variables, business_key=business_key, user=self.user
                )
        except (ApplicationError, ValueError) as exc:
            if e.get("outcome") != "refused":
                raise
            self.last_error = exc

    # -- steps ------------------------------------------------------------------------
    def run(self) -> None:
        self.start()
        if self.expected.get("outcome") == "refused":
            assert self.last_error is not None, "the start was expected to be refused"
            assert not ProcessInstance.objects.filter(definition__key=self.expected["process"]).exists()
            return
        self._run_async_jobs()
        if "steps" in self.expected:
            steps = self.expected["steps"]
            for index, step in enumerate(steps):
                if "expect_error" in step:
                    continue
                refused_next = index + 1 < len(steps) and "expect_error" in steps[index + 1]
                self._step(step, refused_next)
        else:
            self._complete_as_ready()

    def _step(self, step: dict, must_fail: bool) -> None:
        """Apply one step; when the next step is ``expect_error`` it must be refused and leave
        the instance exactly as it was."""
        self.snapshot = self._state()
        try:
            with transaction.atomic():
                self._apply(step)
        except ApplicationError as exc:
            if not must_fail:
                raise
            self.last_error = exc
            assert self._state() == self.snapshot, f"{step} was refused but changed the instance"
            return
        assert not must_fail, f"{step} was expected to be refused"
        self._run_async_jobs()

    def _apply(self, step: dict) -> None:
        instance = self._fresh()
        if "expect_waiting" in step:
            points = self.waiting_points()
            assert points == sorted(step["expect_waiting"]), f"waiting at {points}"
        elif "expect_task" in step:
            self._check_task(step["expect_task"])
        elif "complete" in step:
            waiting = self._waiting_step(step["complete"])
            if waiting.kind == "external":
                services.external_task_complete(
                    instance_id=instance.pk, spiff_task_id=str(waiting.spiff_task_id), variables=step.get("data")
                )
            elif waiting.kind in HUMAN or waiting.kind in ("service", "receive"):
                services.instance_complete_step(
                    instance_id=instance.pk,
                    spiff_task_id=str(waiting.spiff_task_id),
                    data=step.get("data"),
                    user=self.user,
                )
            else:  # a receive task or message catch: its message
                services.message_correlate(
                    message_name=waiting.event_name, business_key=instance.business_key, payload=step.get("data")
                )
        elif "correlate" in step:
            services.message_correlate(
                message_name=step["correlate"],
                business_key=step.get("business_key", ""),
                correlation_keys=step.get("correlation_keys"),
                payload=step.get("payload"),
            )
        elif "signal" in step:
            services.signal_broadcast(signal_name=step["signal"], payload=step.get("payload"))
        elif "set_variables" in step:
            services.instance_set_variables(instance_id=instance.pk, variables=step["set_variables"])
        elif "advance" in step:
            self.clock += _duration(step["advance"])
            for _ in range(50):  # what fell due, and what that made due by then
                if not jobs.run_due_jobs(now=self.clock):
                    break
        else:
            raise AssertionError(f"Unknown scenario step {step}")

    def _run_async_jobs(self) -> None:
        """Async continuations and service jobs run before the next step; timers wait for ``advance``."""
        for _ in range(50):
            if self.instance is None:
                return
            # created "due now" by the real clock, which runs ahead of the scenario's own
            waiting = Job.objects.filter(instance=self.instance, status="pending").exclude(kind="timer")
            waiting.filter(due_at__gt=self.clock).update(due_at=self.clock)
            if not waiting.exists():
                return
            jobs.run_due_jobs(now=self.clock)

    def _complete_as_ready(self) -> None:
        completions = self.expected.get("complete") or {}
        for _ in range(MAX_STEPS):
            self._run_async_jobs()
            instance = self._fresh()
            if instance.status != "running":
                return
            ready = instance.waiting_steps.filter(kind__in=HUMAN).order_by("created_at", "id").first()
            if ready is None:
                return
            services.instance_complete_step(
                instance_id=instance.pk, spiff_task_id=str(ready.spiff_task_id), data=completions.get(ready.element_id)
            )

    # -- reading ----------------------------------------------------------------------
    def _fresh(self) -> ProcessInstance:
        self.instance.refresh_from_db()
        return self.instance

    def _state(self) -> tuple:
        if self.instance is None:
            return ()
        instance = ProcessInstance.objects.get(pk=self.instance.pk)
        waits = sorted(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True))
        return instance.status, instance.variables, waits, HistoryEvent.objects.filter(instance=instance).count()

    def waiting(self) -> list[str]:
        instance = self._fresh()
        if instance.status not in ("running", "suspended"):
            return []
        return services.waiting_element_ids(instance)

    def waiting_points(self) -> list[str]:
        """What ``expect_waiting`` compares: the points the instance waits at, without boundary
        events, event-subprocess starts, subprocesses and call activities; a multi-instance once."""
        instance = self._fresh()
        rows = WaitingStep.objects.filter(instance=instance).values_list("element_id", "element_type")
        # by the waiting step's own type: an element of a called process may share an id with
        # an element of the caller (the invoice's call activity and the review task it calls)
        hidden = ("boundaryevent", "startevent")
        return sorted({e for e, kind in rows if kind.lower().replace("_", "") not in hidden})

    def _waiting_step(self, element_id: str) -> WaitingStep:
        step = self.instance.waiting_steps.filter(element_id=element_id).order_by("created_at", "id").first()
        assert step is not None, f"nothing waits at {element_id} (waiting at {sorted(self.waiting())})"
        return step

    def _check_task(self, want: dict) -> None:
        task = HumanTask.objects.filter(instance=self.instance, element_id=want["element"], status="open").first()
        assert task is not None, f"no open task at {want['element']}"
        checks = {
            "name": lambda: task.name,
            "assignee": lambda: task.assignee.get_username() if task.assignee else None,
            "priority": lambda: task.priority,
            "candidate_groups": lambda: sorted(
                task.candidates.exclude(group_name="").values_list("group_name", flat=True)
            ),
            "candidate_users": lambda: sorted(
                task.candidates.filter(user__isnull=False).values_list("user__username", flat=True)
            ),
        }
        for key, value in want.items():
            if key in checks:
                expected = sorted(value) if key.startswith("candidate_") else value
                assert checks[key]() == expected, f"{want['element']}.{key}: {checks[key]()!r} != {expected!r}"
            elif key in ("due_in", "follow_up_in"):
                actual = task.due_at if key == "due_in" else task.follow_up_at
                target = self.started_at + _duration(value)
                assert actual is not None and abs((actual - target).total_seconds()) <= 60, f"{key}: {actual}"
            elif key == "follow_up":
                target = timezone.make_aware(datetime.fromisoformat(value))
                assert task.follow_up_at is not None and abs((task.follow_up_at - target).total_seconds()) <= 60

    # -- the outcome ------------------------------------------------------------------
    def check_outcome(self) -> None:
        e = self.expected
        if e.get("outcome") == "refused":
            return
        instance = self._fresh()
        assert instance.status != "error", instance.error_message
        if e["outcome"] == "completed":
            assert instance.status == "completed", f"waiting at {self.waiting()}"
        else:
            assert instance.status == "running", instance.status
            assert sorted(self.waiting()) == sorted(e.get("waiting_at", [])), f"waiting at {sorted(self.waiting())}"
        for name, value in (e.get("variables") or {}).items():
            assert instance.variables.get(name) == value, f"{name}: {instance.variables.get(name)!r} != {value!r}"
        self.check_path()

    def check_path(self) -> None:
        """The path, not just the end: what ran and what must not have, from the history."""
        visited, not_visited = self.expected.get("visited"), self.expected.get("not_visited")
        if visited is None and not_visited is None:
            return
        executed = set(
            HistoryEvent.objects.filter(instance=self.instance, kind=HistoryKind.STEP_COMPLETED).values_list(
                "element_id", flat=True
            )
        )
        if visited is not None:
            missing = sorted(set(visited) - executed)
            assert not missing, f"expected to run but did not: {missing}"
        if not_visited is not None:
            wrong = sorted(set(not_visited) & executed)
            assert not wrong, f"ran but must not have: {wrong}"


def _duration(text: str) -> relativedelta:
    value = parse_duration(text)
    assert value is not None, f"not an ISO 8601 duration: {text}"
    return value
