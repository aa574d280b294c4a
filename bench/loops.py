"""The cost of a step as a loop goes round: iteration 10 against iteration 5,000.

    python bench/loops.py [--iterations 5000] [--no-compaction]

A user task in a loop (review -> gateway -> review) is completed over and over, each
step as the service layer does it: load the stored state (through JSON, as PostgreSQL
hands it back), complete the task, run to the next wait, dump the state. Prints one JSON
line: the median step time around iteration 10 and around the last iteration, their
ratio, and the stored state's size at both. ``--no-compaction`` turns the task-tree
compaction off (the behaviour before it; stop it below ~1,000 iterations, where the
step cost has already grown). No database is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")

LOOP = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
<process id="loop" isExecutable="true">
<startEvent id="start"/>
<sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
<userTask id="review" name="Review"/>
<sequenceFlow id="f2" sourceRef="review" targetRef="decide"/>
<exclusiveGateway id="decide" default="again"/>
<sequenceFlow id="again" sourceRef="decide" targetRef="review"/>
<sequenceFlow id="done" sourceRef="decide" targetRef="end"><conditionExpression>${done}</conditionExpression></sequenceFlow>
<endEvent id="end"/>
</process></definitions>"""

WINDOW = 25  # steps measured around each point


def measure(iterations: int = 5000, *, compaction_on: bool = True) -> dict:
    """The median step time around iteration 10 and around the last, and the state's size."""
    import django

    django.setup()
    from processes.engine import compaction, runtime
    from processes.engine.parser import SourceFile, build_specs

    original = compaction.compact
    if not compaction_on:
        compaction.compact = lambda workflow, subprocesses=True: 0
    try:
        spec, subprocess_specs = build_specs("loop", "camunda", [SourceFile("loop.bpmn", LOOP)], [])
        specs = runtime.Specs("loop", "camunda", spec, subprocess_specs)
        run = runtime.Run.start(specs, {"done": False})
        run.advance()
        stored = json.dumps(run.outcome().state)
        early_at = 10
        late_at = iterations - WINDOW
        timings: dict[str, list[float]] = {"early": [], "late": []}
        sizes = {}
        for i in range(iterations):
            started = time.perf_counter()
            run = runtime.Run.load(json.loads(stored), specs)
            waiting = run.waiting()
            assert [w.element_id for w in waiting] == ["review"], f"iteration {i}: waits at {waiting}"
            run.complete_task(waiting[0].spiff_task_id, {"done": False})
            outcome = run.outcome()
            assert outcome.status == "running", f"iteration {i}: {outcome.status}"
            stored = json.dumps(outcome.state)
            elapsed = time.perf_counter() - started
            if early_at <= i < early_at + WINDOW:
                timings["early"].append(elapsed)
                sizes["early"] = len(stored)
            elif i >= late_at:
                timings["late"].append(elapsed)
                sizes["late"] = len(stored)
    finally:
        compaction.compact = original
    early = statistics.median(timings["early"]) * 1000
    late = statistics.median(timings["late"]) * 1000
    return {
        "iterations": iterations,
        "compaction": compaction_on,
        "step_ms_at_10": round(early, 3),
        f"step_ms_at_{late_at}": round(late, 3),
        "ratio": round(late / early, 2),
        "state_bytes_at_10": sizes["early"],
        f"state_bytes_at_{late_at}": sizes["late"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--no-compaction", action="store_true")
    args = parser.parse_args()
    print(json.dumps(measure(args.iterations, compaction_on=not args.no_compaction)))


if __name__ == "__main__":
    main()
