"""`explainer size`: tables, JSON, exit code 2 for bad input, and no torch import."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from explainer.cli import cli


@pytest.fixture
def run():
    return lambda *args: CliRunner().invoke(cli, ["size", *args])


def test_preset_table(run):
    result = run("gpt2-small")
    assert result.exit_code == 0, result.output
    assert "124,439,808" in result.output and "published as 117M" in result.output
    for part in ("embeddings", "positions", "attention", "mlp", "norms", "head", "mixed precision + Adam"):
        assert part in result.output
    assert "1,991,036,928" in result.output  # 16 bytes × 124,439,808


def test_json_has_integer_parameters_breakdown_and_memory(run):
    result = run("llama3-8b", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["parameters"] == 8_030_261_248 and isinstance(data["parameters"], int)
    assert data["breakdown"]["head"] == data["breakdown"]["embeddings"] == 128256 * 4096
    adam = next(r for r in data["memory"] if r["what"] == "mixed precision + Adam")
    assert adam["bytes"] == 16 * 8_030_261_248 and adam["gpus"] == 2


def test_sizes_by_option_equal_the_preset(run):
    by_preset = json.loads(run("llama3-8b", "--json").output)
    by_options = json.loads(run("--arch", "llama", "--layers", "32", "--d-model", "4096", "--heads", "32",
                                "--kv-heads", "8", "--d-ff", "14336", "--vocab", "128256", "--context", "8192",
                                "--json").output)
    assert by_options["parameters"] == by_preset["parameters"]
    tiny = json.loads(run("--arch", "gpt2", "--layers", "1", "--d-model", "4", "--heads", "2", "--vocab", "10",
                          "--context", "3", "--json").output)
    # by hand: 10·4 + 3·4 + (12·16 + 13·4) + 2·4
    assert tiny["parameters"] == 40 + 12 + 244 + 8


@pytest.mark.parametrize("args,message", [
    (["gpt2-smal"], "did you mean: gpt2-small"),
    (["--arch", "gpt2", "--layers", "2", "--d-model", "64", "--heads", "5", "--vocab", "9", "--context", "8"],
     "does not divide --d-model"),
    (["--arch", "llama", "--layers", "2", "--d-model", "64", "--heads", "4", "--kv-heads", "3", "--d-ff", "9",
      "--vocab", "9", "--context", "8"], "does not divide --heads"),
    (["--arch", "gpt2", "--layers", "0", "--d-model", "64", "--heads", "4", "--vocab", "9", "--context", "8"],
     "--layers must be a positive integer"),
    (["--arch", "gpt2", "--layers", "2", "--d-model", "64", "--heads", "4", "--vocab", "-9", "--context", "8"],
     "--vocab must be a positive integer"),
    (["--arch", "gpt2", "--layers", "2"], "needs --d-model"),
    (["gpt2-small", "--layers", "3"], "not both"),
    ([], "name a PRESET"),
])
def test_bad_input_exits_2_with_a_message(run, args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_help_shows_examples_and_every_preset(run):
    from explainer import sizes

    result = run("--help")
    assert result.exit_code == 0
    assert "explainer size gpt2-small" in result.output
    assert all(name in result.output for name in sizes.PRESETS)


def test_size_does_not_import_torch():
    code = ("import sys\nfrom explainer.cli import cli\n"
            "try:\n    cli(['size', 'gpt2-xl', '--json'])\nexcept SystemExit as e:\n    assert e.code in (0, None)\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
    assert json.loads(out[:out.rindex("}") + 1])["parameters"] == 1_557_611_200
