"""Instances per second through the full service layer on PostgreSQL vs bare SpiffWorkflow in memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench python bench/engine.py [--seconds 10]

Two processes: (a) start, script task, user task, complete, end; (b) ten sequential
script tasks. Prints one JSON line per process: engine_ips, bare_ips, ratio, and the
database queries the engine issues per instance. The database named in DATABASE_URL is
created and migrated when missing (its tables are emptied before each run).
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


def engine_runner(content: bytes, process_id: str):
    from processes import services
    from processes.models import WaitingStep

    result = services.definition_deploy(files=[(f"{process_id}.bpmn", content)])
    definition = (result.created or result.unchanged)[0]

    def one() -> None:
        instance = services.instance_start(definition=definition, variables={"amount": 21})
        if instance.status == "running":
            step = WaitingStep.objects.filter(instance=instance).only("spiff_task_id").first()
            instance = services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
        assert instance.status == "completed", instance.error_message

    return one


def _queries_per_instance(one) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        one()
    return len(captured.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="time per measurement")
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
        engine = engine_runner(content, name)
        for _ in range(20):  # warm caches (spec cache, connections)
            bare()
            engine()
        queries = _queries_per_instance(engine)
        bare_ips, bare_n = _timed(args.seconds, bare)
        engine_ips, engine_n = _timed(args.seconds, engine)
        print(
            json.dumps(
                {
                    "process": name,
                    "engine_ips": round(engine_ips, 1),
                    "bare_ips": round(bare_ips, 1),
                    "ratio": round(engine_ips / bare_ips, 3),
                    "engine_queries_per_instance": queries,
                    "engine_instances": engine_n,
                    "bare_instances": bare_n,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
