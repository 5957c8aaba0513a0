"""Time of ``explainer verify --all`` (tiny) next to the bare reference forward+backward, as a ratio.

The floor is measured in the same process: one forward+backward of the tiny model without hooks.
The verify time includes writing out and lambdifying every closed form (the dominant cost) and
both reference runs with capture.

    PYTHONPATH=. python3 benchmarks/verify.py            # CPU, and CUDA too when a GPU is present

Measured (2026-11-23): this 2-core machine, CPU 17.3 s vs 6.5 ms bare (2,648×); H100 host, CPU 15.4 s vs
6.1 ms (2,549×), CUDA 9.7 s vs 8.9 ms (1,094×). Writing out and lambdifying the closed forms dominates.
"""
from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

# benchmarks/tokenize.py would shadow the standard library's tokenize (torch needs it): drop this folder
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402

from explainer import registry  # noqa: E402
from explainer.numeric import verify as engine  # noqa: E402
from explainer.numeric.checks.base import Context  # noqa: E402
from explainer.numeric.compare import closed_form  # noqa: E402
from explainer.numeric.config import PRESETS  # noqa: E402
from explainer.numeric.run import device_name, reference_run  # noqa: E402


def bare_run(device: torch.device, repeats: int = 5) -> float:
    """Median seconds of one uncaptured forward+backward (after one warm-up)."""
    reference_run(PRESETS["tiny"], device=device, dtype=torch.float64, capture=False)
    times = sorted(reference_run(PRESETS["tiny"], device=device, dtype=torch.float64, capture=False).seconds
                   for _ in range(repeats))
    return times[len(times) // 2]


def verify_all(device: torch.device) -> tuple[float, int, bool]:
    closed_form.cache_clear()  # every device pays for writing out the closed forms
    start = time.perf_counter()
    results = engine.verify(engine.choose((), True), Context(PRESETS["tiny"], device, torch.float64))
    return time.perf_counter() - start, len(results), engine.ok(results)


def main() -> None:
    registry.load()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    for device in devices:
        floor = bare_run(device)
        seconds, rows, ok = verify_all(device)
        print(f"{device_name(device)}: verify --all (tiny, float64) {seconds:.2f} s, {rows} rows, "
              f"{'all passed' if ok else 'FAILURES'}; bare forward+backward {floor * 1e3:.2f} ms; "
              f"ratio {seconds / floor:,.0f}×")


if __name__ == "__main__":
    main()
