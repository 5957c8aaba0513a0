"""``explainer verify`` through click's CliRunner."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from explainer.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def test_table_has_the_columns_and_the_real_device(runner):
    result = runner.invoke(cli, ["verify", "dot-product", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    header = [line for line in result.output.splitlines() if line.startswith("derivation")][0]
    for column in ("check", "device", "dtype", "max abs err", "max rel err", "tolerance", "status"):
        assert column in header
    assert "device: cpu" in result.output and "cuda" not in result.output


def test_json_has_the_same_rows(runner):
    result = runner.invoke(cli, ["verify", "dot-product", "--device", "cpu", "--dtype", "float32", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["device"] == "cpu" and data["dtype"] == "float32"
    assert {r["status"] for r in data["results"]} == {"passed"}
    assert all(r["device"] == "cpu" and r["dtype"] == "float32" for r in data["results"])


def test_unknown_name_suggests(runner):
    result = runner.invoke(cli, ["verify", "sofmax"])
    assert result.exit_code == 2 and "softmax" in result.output


def test_unknown_name_with_all_is_not_ignored(runner):
    result = runner.invoke(cli, ["verify", "sofmax", "--all"])
    assert result.exit_code == 2 and "softmax" in result.output


def test_dtype_the_device_cannot_run_is_a_clear_error(runner, monkeypatch):
    """Older CPU builds had no float16 matmul: the run stops before any work, with torch's reason."""
    ones = torch.ones

    def no_half(*args, dtype=None, **kwargs):
        if dtype is torch.float16:
            raise RuntimeError('"addmm_impl_cpu_" not implemented for \'Half\'')
        return ones(*args, dtype=dtype, **kwargs)

    monkeypatch.setattr(torch, "ones", no_half)
    result = runner.invoke(cli, ["verify", "dot-product", "--device", "cpu", "--dtype", "float16"])
    assert result.exit_code == 2
    assert "cpu cannot run dtype float16" in result.output and "addmm_impl_cpu_" in result.output


def test_nothing_named(runner):
    assert runner.invoke(cli, ["verify"]).exit_code == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_exits_2(runner):
    result = runner.invoke(cli, ["verify", "dot-product", "--device", "cuda"])
    assert result.exit_code == 2 and "CUDA" in result.output and "--device cpu" in result.output
    if torch.version.cuda is None:
        assert "CPU-only build" in result.output


def test_failure_exits_1(runner, monkeypatch):
    from explainer.numeric import compare

    monkeypatch.setitem(compare.ASSERT_CLOSE, "float64", (0.0, -1.0))  # no error can be within a negative atol
    result = runner.invoke(cli, ["verify", "dot-product", "--device", "cpu"])
    assert result.exit_code == 1 and "failed" in result.output


def test_help_has_an_example(runner):
    result = runner.invoke(cli, ["verify", "--help"])
    assert result.exit_code == 0 and "explainer verify --all" in result.output


def test_verify_needs_neither_manim_nor_jsonschema():
    """The GPU host has torch, sympy, numpy and click only."""
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from explainer.cli import cli; "
            "r = CliRunner().invoke(cli, ['verify', 'dot-product', '--device', 'cpu']); assert r.exit_code == 0; "
            "print(sorted(m for m in ('manim', 'jsonschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
