"""Mutation score of the step checker: how many planted changes to ``explainer/check.py`` its own tests catch.

    .venv/bin/pip install mutmut            # not a project dependency: only this measurement needs it
    .venv/bin/python -m benchmarks.mutation [--limit N] [--keep DIR]

``mutmut`` (3.x) writes every mutant of ``explainer/check.py`` into ``mutants/explainer/check.py`` behind a
trampoline that runs the mutant named by the ``MUTANT_UNDER_TEST`` environment variable. Its own runner reported
mutants as surviving that ``pytest`` kills when run by hand, so this script only lets mutmut *generate* the
mutants (in a clone of the committed tree) and then runs ``pytest -x tests/test_check.py`` once per mutant,
in one process: a mutant is killed when the tests fail. It prints the score and every survivor as a diff line.
"""
from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """[mutmut]
paths_to_mutate = explainer/check.py
tests_dir = tests/test_check.py
also_copy =
    explainer
    derivations
    scenes
    tests
    pyproject.toml
"""


def generate(work: Path) -> Path:
    """Clone the committed tree into ``work`` and let mutmut write its mutants; returns the mutants folder."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(work)], check=True)
    (work / "setup.cfg").write_text(CONFIG)
    mutmut = Path(sys.executable).with_name("mutmut")
    proc = subprocess.Popen([str(mutmut), "run", "--max-children", "1"], cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    target = work / "mutants" / "explainer" / "check.py"
    try:
        for _ in range(300):  # generation takes seconds; its own test run, which is not used, would take minutes
            if target.exists() and "mutmut generated" in target.read_text():
                time.sleep(2)
                break
            time.sleep(1)
        else:
            raise SystemExit("mutmut wrote no mutants in 300 s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    return work / "mutants"


def run(mutants: Path, limit: int | None = None) -> dict[str, str]:
    """``{mutant: "killed" | "survived"}`` from one ``pytest -x tests/test_check.py`` per mutant (the first
    ``limit`` only, when given)."""
    import pytest

    os.chdir(mutants)
    sys.path.insert(0, str(mutants))
    names = re.findall(r"^def (x_\w+__mutmut_\d+)\(", (mutants / "explainer" / "check.py").read_text(), re.M)
    results = {}
    for name in names[:limit]:
        os.environ["MUTANT_UNDER_TEST"] = f"explainer.check.{name}"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "tests/test_check.py"])
        results[name] = "killed" if code != 0 else "survived"
    return results


def diff(mutants: Path, name: str) -> str:
    """The changed line of mutant ``name`` against the original function."""
    source = (mutants / "explainer" / "check.py").read_text()

    def body(fn: str) -> list[str]:
        return re.search(rf"^def {fn}\(.*?(?=^\S)", source, re.M | re.S).group(0).splitlines()

    original = body(name.split("__mutmut")[0] + "__mutmut_orig")
    lines = difflib.unified_diff([original[0].split("(", 1)[1], *original[1:]],
                                 [body(name)[0].split("(", 1)[1], *body(name)[1:]], lineterm="", n=0)
    return " | ".join(line.strip() for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--limit", type=int, help="run only the first N mutants (a quick look)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp) / "clone"
        mutants = generate(work)
        start = time.time()
        results = run(mutants, args.limit)
        survivors = [n for n, status in results.items() if status == "survived"]
        print(f"{len(results)} mutants of explainer/check.py, {len(results) - len(survivors)} killed, "
              f"{len(survivors)} survived ({100 * (1 - len(survivors) / len(results)):.1f} % killed) "
              f"in {time.time() - start:.0f} s")
        for name in survivors:
            print(f"  {name}: {diff(mutants, name)}")


if __name__ == "__main__":
    main()
