"""The CLI through click's CliRunner, and once as a real subprocess."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from explainer import registry
from explainer.cli import COMMANDS, cli


def test_list_groups_by_topic(runner):
    result = runner.invoke(cli, ["list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines.index("Vectors, dot products and linear layers") < lines.index("Attention")
    assert any(line.strip().startswith("softmax") for line in lines)


def test_list_follows_the_course_order(runner):
    """Within a topic the built-ins come as taught: scores, softmax, scaling, then attention itself."""
    names = [d["name"] for d in json.loads(runner.invoke(cli, ["list", "--json"]).output)]
    assert [n for n in names if n in registry.COURSE] == list(registry.COURSE)  # users' own may follow


def test_list_json_and_topic_filter(runner):
    result = runner.invoke(cli, ["list", "--json", "--topic", "attention"])
    data = json.loads(result.output)
    assert result.exit_code == 0 and {"softmax"} <= {d["name"] for d in data}
    assert all(d["topic"] == "attention" for d in data)


def test_unknown_topic_exits_2_with_suggestions(runner):
    result = runner.invoke(cli, ["list", "--topic", "atention"])
    assert result.exit_code == 2 and "did you mean: attention" in result.output


@pytest.mark.parametrize("fmt, marker", [("text", "Steps"), ("unicode", "Steps"), ("latex", r"\begin{align*}"),
                                         ("markdown", "$$"), ("json", '"schema_version"')])
def test_show_every_format(runner, fmt, marker):
    result = runner.invoke(cli, ["show", "softmax", "--format", fmt])
    assert result.exit_code == 0 and marker in result.output


def test_show_no_check_prints_no_statuses(runner):
    result = runner.invoke(cli, ["show", "softmax", "--no-check"])
    assert result.exit_code == 0 and "[proved" not in result.output and "[assumed" not in result.output


def test_show_latex_softmax_is_all_proved_or_assumed(runner):
    result = runner.invoke(cli, ["show", "softmax", "--format", "latex"])
    comments = [line.split("% ")[-1] for line in result.output.splitlines() if "\\text{" in line and "% " in line]
    assert comments and all(c.startswith(("proved", "assumed")) for c in comments)


@pytest.mark.parametrize("args", [["show", "sofmax"], ["show", "softmx"], ["check", "dot-prodcut"]])
def test_unknown_name_exits_2_with_suggestions(runner, args):
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and "did you mean:" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["check"], ["verify", "--device", "cpu"]])
def test_every_unknown_name_is_reported_not_just_the_first(runner, command):
    if command[0] == "verify":
        pytest.importorskip("torch")
    result = runner.invoke(cli, [*command, "softmx", "softmax", "attenion"])
    assert result.exit_code == 2, result.output
    assert "unknown derivation 'softmx'; did you mean: softmax" in result.output
    assert "unknown derivation 'attenion'; did you mean:" in result.output
    assert "unknown derivation 'softmax'" not in result.output


def test_unknown_name_with_nothing_close_gets_no_suggestion(runner):
    result = runner.invoke(cli, ["show", "nosuch"])
    assert result.exit_code == 2 and "did you mean" not in result.output and "explainer list" in result.output


def test_unknown_command_suggests(runner):
    result = runner.invoke(cli, ["shwo", "softmax"])
    assert result.exit_code == 2 and "Did you mean: show?" in result.output


def test_check_table_and_json(runner):
    result = runner.invoke(cli, ["check", "softmax", "dot-product"])
    assert result.exit_code == 0 and "ok   softmax" in result.output and "0 failed" in result.output
    data = json.loads(runner.invoke(cli, ["check", "softmax", "--json"]).output)
    assert data["ok"] is True and data["derivations"][0]["name"] == "softmax"


def test_check_without_names_is_a_usage_error(runner):
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 2 and "--all" in result.output


def test_check_broken_exits_1_naming_the_step(runner, broken_module):
    result = runner.invoke(cli, ["check", "--module", broken_module, "ok-scale", "broken-scale"])
    assert result.exit_code == 1
    assert "FAILED broken-scale step 3" in result.output and "FAIL broken-scale" in result.output


def test_missing_module_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(cli, ["check", "--module", str(tmp_path / "nope.py"), "softmax"])
    assert result.exit_code == 2 and "not found" in result.output


def test_doctor_reports_components(runner):
    result = runner.invoke(cli, ["doctor"])
    assert result.exit_code == 0
    for component in ("python", "sympy", "torch", "manim", "latex", "dvisvgm", "cuda"):
        assert component in result.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(runner, command):
    result = runner.invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_real_subprocess(broken_module):
    show = subprocess.run([sys.executable, "-m", "explainer", "show", "dot-product", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert show.returncode == 0 and json.loads(show.stdout)["name"] == "dot-product"
    bad = subprocess.run([sys.executable, "-m", "explainer", "check", "--module", broken_module, "broken-sign"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "FAILED broken-sign step 2" in bad.stderr
    unknown = subprocess.run([sys.executable, "-m", "explainer", "show", "softmx"],
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr and "did you mean" in unknown.stderr
