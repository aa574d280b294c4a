"""Instances per second through the full service layer on PostgreSQL vs bare SpiffWorkflow in
memory and vs the floor, all measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench python bench/engine.py [--seconds 10]

Two processes: (a) start, script task, user task, complete, end; (b) ten sequential
script tasks. Prints one JSON line per process:

- ``engine_ips``: through the services, as an API request runs them;
- ``bare_ips``: SpiffWorkflow alone, in memory, never serialized;
- ``floor_ips``: SpiffWorkflow plus the raw psycopg transactions an instance needs (start:
  insert the state, its waiting step and its history; complete: lock and read the state, update
  it, delete the waiting step, insert the history), the state serialized without its spec;
- ``ratio`` (engine/bare) and ``floor_ratio`` (engine/floor);
- ``statements_per_instance``: every statement the engine sends, BEGIN and COMMIT included;
- with ``--split``: ``engine_ms`` and ``floor_ms`` per instance, and of them ``*_db_ms``
  spent waiting for PostgreSQL (the rest is Python);
- then the loop figure (bench/loops.py): a step at iteration 10 against one at 5,000.

The database named in DATABASE_URL is created and migrated when missing (its tables are
emptied before each run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bpm_bench")

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'id="bench" targetNamespace="http://bpmn.io/schema/bpmn">'
)


def _diagram(process_id: str, elements: list[str]) -> bytes:
    ids = ["start"] + [e.split('id="')[1].split('"')[0] for e in elements] + ["end"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False))
    )
    body = '<bpmn:startEvent id="start"/>' + "".join(elements) + '<bpmn:endEvent id="end"/>' + flows
    return (
        f'{HEADER}<bpmn:process id="{process_id}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'.encode()
    )


PROCESSES = {
    "script_user_task": _diagram(
        "script_user_task",
        [
            '<bpmn:scriptTask id="prepare"><bpmn:script>total = amount * 2</bpmn:script></bpmn:scriptTask>',
            '<bpmn:userTask id="approve"/>',
        ],
    ),
    "ten_scripts": _diagram(
        "ten_scripts",
        [f'<bpmn:scriptTask id="s{i}"><bpmn:script>x{i} = {i}</bpmn:script></bpmn:scriptTask>' for i in range(10)],
    ),
}


def _ensure_database() -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def _timed(seconds: float, one) -> tuple[float, int]:
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        one()
        done += 1
    return done / (time.perf_counter() - started), done


def bare_runner(content: bytes, process_id: str):
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(content)
    spec = parser.get_spec(process_id)

    def one() -> None:
        workflow = BpmnWorkflow(spec)
        workflow.get_tasks(state=TaskState.READY)[0].data["amount"] = 21
        workflow.do_engine_steps()
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            task.run()
            workflow.do_engine_steps()
        assert workflow.is_completed()

    return one


FLOOR_TABLES = """
DROP TABLE IF EXISTS bench_floor_history, bench_floor_waiting, bench_floor_instance;
CREATE TABLE bench_floor_instance (id bigserial PRIMARY KEY, status varchar(16), state jsonb, variables jsonb,
    updated_at timestamptz);
CREATE TABLE bench_floor_waiting (id bigserial PRIMARY KEY, instance_id bigint REFERENCES bench_floor_instance,
    spiff_task_id uuid, element_id varchar(255), UNIQUE (instance_id, spiff_task_id, element_id));
CREATE TABLE bench_floor_history (id bigserial PRIMARY KEY, instance_id bigint REFERENCES bench_floor_instance,
    kind varchar(32), element_id varchar(255), data jsonb, created_at timestamptz);
CREATE INDEX ON bench_floor_history (instance_id);
"""


def floor_runner(content: bytes, process_id: str):
    """SpiffWorkflow plus the raw SQL an instance needs, on its own connection: the floor."""
    import psycopg
    from django.conf import settings
    from psycopg.types.json import Jsonb
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    from processes.engine import serializer

    db = settings.DATABASES["default"]
    conn = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], autocommit=True
    )
    conn.execute(FLOOR_TABLES)
    conn.autocommit = False
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(content)
    spec = parser.get_spec(process_id)

    def save_history(cur, instance_id: int, steps: list[str]) -> None:
        cur.executemany(
            "INSERT INTO bench_floor_history (instance_id, kind, element_id, data, created_at) VALUES (%s, %s, %s, %s, now())",
            [(instance_id, "step_completed", step, Jsonb({})) for step in steps],
        )

    def one() -> None:
        workflow = BpmnWorkflow(spec)
        workflow.get_tasks(state=TaskState.READY)[0].data["amount"] = 21
        workflow.do_engine_steps()
        waiting = workflow.get_tasks(state=TaskState.READY, manual=True)
        with conn.cursor() as cur:  # transaction 1: the new instance
            cur.execute(
                "INSERT INTO bench_floor_instance (status, state, variables, updated_at) VALUES (%s, %s, %s, now()) RETURNING id",
                ["running", Jsonb(serializer.dump(workflow, "spiff")), Jsonb({"amount": 21})],
            )
            instance_id = cur.fetchone()[0]
            for task in waiting:
                cur.execute(
                    "INSERT INTO bench_floor_waiting (instance_id, spiff_task_id, element_id) VALUES (%s, %s, %s)",
                    [instance_id, task.id, task.task_spec.bpmn_id],
                )
            save_history(cur, instance_id, ["start"])
        conn.commit()
        if not waiting:
            return
        with conn.cursor() as cur:  # transaction 2: complete the step
            cur.execute("SELECT state FROM bench_floor_instance WHERE id = %s FOR UPDATE", [instance_id])
            workflow = serializer.load(cur.fetchone()[0], "spiff", spec, {})
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.run()
            workflow.do_engine_steps()
            assert workflow.is_completed()
            cur.execute(
                "UPDATE bench_floor_instance SET status = 'completed', state = %s, variables = %s, updated_at = now() "
                "WHERE id = %s",
                [Jsonb(serializer.dump(workflow, "spiff")), Jsonb(workflow.data), instance_id],
            )
            cur.execute(
                "DELETE FROM bench_floor_waiting WHERE instance_id = %s AND spiff_task_id = %s", [instance_id, task.id]
            )
            save_history(cur, instance_id, [task.task_spec.bpmn_id])
        conn.commit()

    return one


def engine_runner(content: bytes, process_id: str):
    from processes import services

    result = services.definition_deploy(files=[(f"{process_id}.bpmn", content)])
    definition = (result.created or result.unchanged)[0]

    def one() -> None:
        instance = services.instance_start(definition=definition, variables={"amount": 21})
        if instance.status == "running":
            step = instance.waiting_steps.all()[0]  # what the start answered with, as the API does
            instance = services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
        assert instance.status == "completed", instance.error_message

    return one


def _split(one, instances: int = 300) -> dict:
    """Milliseconds per instance, and how many of them were spent waiting for PostgreSQL
    (psycopg's wait timed around every call); the rest is Python."""
    import psycopg

    original, waited = psycopg.Connection.wait, [0.0]

    def timed_wait(self, gen, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, gen, *args, **kwargs)
        finally:
            waited[0] += time.perf_counter() - started

    psycopg.Connection.wait = timed_wait
    try:
        started = time.perf_counter()
        for _ in range(instances):
            one()
        total = (time.perf_counter() - started) / instances * 1000
    finally:
        psycopg.Connection.wait = original
    return {"ms": round(total, 2), "db_ms": round(waited[0] / instances * 1000, 2)}


def _statements_per_instance(one) -> int:
    """Every statement the engine sends for one instance (Django logs BEGIN and COMMIT too)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        one()
    return len(captured.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="time per measurement")
    parser.add_argument(
        "--loop-iterations", type=int, default=5000, help="the loop figure: a step at iteration 10 vs this (0: skip)"
    )
    parser.add_argument(
        "--split", action="store_true", help="also time the wait for PostgreSQL per instance (engine and floor)"
    )
    args = parser.parse_args()

    import django

    django.setup()
    _ensure_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from processes.models import HistoryEvent, ProcessInstance, WaitingStep

    for name, content in PROCESSES.items():
        WaitingStep.objects.all().delete()
        HistoryEvent.objects.all().delete()
        ProcessInstance.objects.all().delete()
        bare = bare_runner(content, name)
        floor = floor_runner(content, name)
        engine = engine_runner(content, name)
        for _ in range(20):  # warm caches (spec cache, connections)
            bare()
            floor()
            engine()
        statements = _statements_per_instance(engine)
        bare_ips, bare_n = _timed(args.seconds, bare)
        floor_ips, floor_n = _timed(args.seconds, floor)
        engine_ips, engine_n = _timed(args.seconds, engine)
        split = {}
        if args.split:  # the best of three rounds, each alternating engine and floor
            rounds = [(_split(engine), _split(floor)) for _ in range(3)]
            best_engine = min((r[0] for r in rounds), key=lambda r: r["ms"])
            best_floor = min((r[1] for r in rounds), key=lambda r: r["ms"])
            split = {
                "engine_ms": best_engine["ms"],
                "engine_db_ms": best_engine["db_ms"],
                "floor_ms": best_floor["ms"],
                "floor_db_ms": best_floor["db_ms"],
            }
        print(
            json.dumps(
                {
                    "process": name,
                    "engine_ips": round(engine_ips, 1),
                    "floor_ips": round(floor_ips, 1),
                    "bare_ips": round(bare_ips, 1),
                    "floor_ratio": round(engine_ips / floor_ips, 3),
                    "ratio": round(engine_ips / bare_ips, 3),
                    "statements_per_instance": statements,
                    "engine_instances": engine_n,
                    "floor_instances": floor_n,
                    "bare_instances": bare_n,
                    **split,
                }
            ),
            flush=True,
        )
    if args.loop_iterations:  # the engine work per step stays flat in the size of the instance
        sys.path.insert(0, str(REPO / "bench"))
        import loops

        print(json.dumps({"process": "loop", **loops.measure(args.loop_iterations)}), flush=True)


if __name__ == "__main__":
    main()
