"""Start-up time of ``explainer show softmax`` against the floor ``python -c "import sympy, click"``.

Both are run as fresh processes, alternating, ``--runs`` times each (after one warm-up run each, so the
file cache is warm for both); the script prints the medians and their ratio. Goal: ratio <= 1.3.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--args "show softmax --no-check"]
"""
from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--args", default="show softmax", help="explainer arguments to time")
    opts = parser.parse_args()
    floor = [sys.executable, "-c", "import sympy, click"]
    ours = [sys.executable, "-m", "explainer", *shlex.split(opts.args)]
    wall(floor), wall(ours)
    times = {"floor": [], "ours": []}
    for _ in range(opts.runs):
        times["floor"].append(wall(floor))
        times["ours"].append(wall(ours))
    f, o = statistics.median(times["floor"]), statistics.median(times["ours"])
    print(f"python -c 'import sympy, click'   median {f * 1000:7.1f} ms  ({opts.runs} runs)")
    print(f"explainer {opts.args:<22} median {o * 1000:7.1f} ms  ({opts.runs} runs)")
    print(f"ratio {o / f:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
