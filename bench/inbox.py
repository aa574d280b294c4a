"""The inbox query and page with 100,000 open tasks in the database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench python bench/inbox.py [--tasks 100000]

Generates (once; reused while the count matches) open tasks over 20 processes for 2,000
users and 50 groups: a third assigned to a user, the rest claimable by a user or a group.
Then measures, for a user with assigned tasks and group memberships, the server time of
the first page of "My tasks" and "Group tasks", and an administrator's "All" (query, and the whole page through the Django
test client) and prints one JSON line each with the median and 95th percentile in ms, and the
plans PostgreSQL chose.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bpm_bench")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
    }


def seed(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from processes.models import Deployment, ProcessDefinition, ProcessInstance, Resource
    from tasks.models import HumanTask, TaskCandidate

    if HumanTask.objects.filter(status="open").count() == count:
        return
    print(f"seeding {count:,} open tasks ...", file=sys.stderr)
    random.seed(7)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE tasks_taskcandidate, tasks_taskcomment, tasks_humantask, processes_waitingstep, "
                "processes_historyevent, processes_processinstance RESTART IDENTITY CASCADE"
            )
        User = get_user_model()
        users = list(User.objects.filter(username__startswith="bench_user_"))
        if len(users) < 2000:
            User.objects.filter(username__startswith="bench_user_").delete()
            User.objects.bulk_create([User(username=f"bench_user_{i}") for i in range(2000)])
            users = list(User.objects.filter(username__startswith="bench_user_"))
        groups = list(Group.objects.filter(name__startswith="bench_group_"))
        if len(groups) < 50:
            Group.objects.bulk_create([Group(name=f"bench_group_{i}") for i in range(50)], ignore_conflicts=True)
            groups = list(Group.objects.filter(name__startswith="bench_group_"))
        Through = User.groups.through
        Through.objects.filter(user__in=users).delete()
        Through.objects.bulk_create([Through(user_id=u.pk, group_id=groups[i % 50].pk) for i, u in enumerate(users)])
        deployment = Deployment.objects.create(name="bench", dialect="camunda")
        resource = Resource.objects.create(
            deployment=deployment, name="bench.bpmn", kind="bpmn", content="<x/>", checksum="0"
        )
        definitions = []
        for p in range(20):
            definition, _ = ProcessDefinition.objects.get_or_create(
                key=f"bench_process_{p}",
                version=1,
                defaults={
                    "name": f"Bench process {p}",
                    "deployment": deployment,
                    "resource": resource,
                    "checksum": str(p),
                    "dialect": "camunda",
                    "is_active": True,
                },
            )
            definitions.append(definition)
        instances = ProcessInstance.objects.bulk_create(
            [
                ProcessInstance(definition=definitions[i % 20], business_key=f"BK-{i}", status="running", state={})
                for i in range(count)
            ],
            batch_size=5000,
        )
        tasks = HumanTask.objects.bulk_create(
            [
                HumanTask(
                    instance=instance,
                    definition_id=instance.definition_id,
                    process_key=instance.definition.key,
                    business_key=instance.business_key,
                    spiff_task_id=uuid.uuid4(),
                    element_id="approve",
                    name=random.choice(["Approve leave", "Review request", "Check invoice", "Sign contract"]),
                    priority=random.randint(1, 100),
                    assignee=users[i % 2000] if i % 3 == 0 else None,
                    due_at=None,
                )
                for i, instance in enumerate(instances)
            ],
            batch_size=5000,
        )
        candidates = []
        for i, task in enumerate(tasks):
            if i % 3 == 1:
                candidates.append(TaskCandidate(task=task, user=users[(i * 7) % 2000]))
            elif i % 3 == 2:
                candidates.append(TaskCandidate(task=task, group=groups[i % 50], group_name=groups[i % 50].name))
        TaskCandidate.objects.bulk_create(candidates, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    sys.path.insert(0, str(REPO / "bench"))
    from engine import _ensure_database

    _ensure_database()
    call_command("migrate", verbosity=0)
    seed(args.tasks)

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from tasks import selectors

    User = get_user_model()
    worker = User.objects.get(username="bench_user_3")
    admin = User.objects.filter(username="bench_admin").first() or User.objects.create_superuser("bench_admin")
    for user, view in ((worker, "mine"), (worker, "group"), (admin, "all")):
        client = Client()
        client.force_login(user)
        query = selectors.InboxQuery(view=view)

        def first_page(user=user, query=query):
            qs = selectors.inbox_list(user, query)
            return list(qs[:25]), qs.count()

        for _ in range(5):
            first_page()
            client.get(f"/tasks/?view={view}")
        query_times, page_times = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            rows, total = first_page()
            query_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            response = client.get(f"/tasks/?view={view}")
            page_times.append(time.perf_counter() - started)
            assert response.status_code == 200
        sql, params = selectors.inbox_list(user, query)[:25].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0][0]
        print(
            json.dumps(
                {
                    "view": view,
                    "open_tasks": args.tasks,
                    "rows_on_page": len(rows),
                    "matching": total,
                    "query": _percentiles(query_times),
                    "page": _percentiles(page_times),
                    "plan_top": plan["Plan"]["Node Type"],
                    "plan_execution_ms": plan["Execution Time"],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
