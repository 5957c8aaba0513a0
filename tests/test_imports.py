"""``list``, ``show`` and ``check`` never import torch or manim (checked in a fresh interpreter)."""
from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from explainer.cli import cli
try:
    cli({args!r}, standalone_mode=False)
except SystemExit:
    pass
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""
TORCH_AND_MANIM = ("torch", "manim", "cv2", "av")


@pytest.mark.parametrize("args", [["list"], ["show", "softmax"], ["show", "dot-product", "--format", "latex"],
                                  ["check", "softmax"], ["--help"]])
def test_fast_commands_do_not_import_torch_or_manim(args):
    run = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=TORCH_AND_MANIM)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "HEAVY:"


HELP = [[], ["list"], ["show"], ["check"], ["doctor"], ["size"], ["tokenize"], ["tokenize", "train"],
        ["tokenize", "encode"], ["verify"], ["scenes"], ["render"]]


@pytest.mark.parametrize("command", HELP, ids=lambda c: " ".join(c) or "explainer")
def test_help_imports_neither_sympy_nor_torch_nor_manim(command):
    """``--help`` of any command is instant: not even SymPy loads (0.98 s of the first ``explainer --help``)."""
    probe = PROBE.format(args=[*command, "--help"], heavy=("sympy", *TORCH_AND_MANIM))
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Usage:" in run.stdout and run.stdout.strip().splitlines()[-1] == "HEAVY:"
