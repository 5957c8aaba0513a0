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
heavy = sorted(m for m in ("torch", "manim", "cv2", "av") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize("args", [["list"], ["show", "softmax"], ["show", "dot-product", "--format", "latex"],
                                  ["check", "softmax"], ["--help"]])
def test_fast_commands_do_not_import_torch_or_manim(args):
    run = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "HEAVY:"
