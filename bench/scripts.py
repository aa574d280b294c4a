"""What the script sandbox costs per call: in this process vs through the helper process.

    python bench/scripts.py [--calls 2000]

Prints one JSON line per case with microseconds per call (median of five rounds):
a simple condition (runs in this process), the same condition forced through the helper,
a small script task body in this process (the path before the sandbox) and through the
helper (the path now), and a script with 50 variables of context (the pickling cost).
No database is needed.
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


def per_call_us(fn, calls: int) -> float:
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return round(statistics.median(rounds), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    import django

    django.setup()
    from processes.engine import sandbox, scripting

    condition = "amount > 1000 and not rejected"
    script = "total = amount * 2\nlabel = 'big' if total > 1000 else 'small'"
    small = {"amount": 1500, "rejected": False}
    wide = {f"v{i}": {"name": f"item {i}", "qty": i, "tags": ["a", "b"]} for i in range(50)} | small
    sandbox.execute("warm = 1", {})  # start the helper once, outside the measurement

    cases = {
        "condition, in process (simple)": lambda: scripting.evaluate(condition, small),
        "condition, through the helper": lambda: sandbox._run("eval", condition, small, None),
        "script, in process (before)": lambda: scripting.execute_here(script, dict(small)),
        "script, through the helper (now)": lambda: scripting.execute(script, dict(small)),
        "script with 50 variables, through the helper": lambda: scripting.execute(script, dict(wide)),
    }
    for name, fn in cases.items():
        print(json.dumps({"case": name, "us_per_call": per_call_us(fn, args.calls)}))


if __name__ == "__main__":
    main()
