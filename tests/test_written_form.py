"""Every built-in derivation is written as its author means it: it checks (so no vacuous step and no
unused definition), every unicode formula line fits in 100 columns, and the plain-text form is drawn,
not SymPy's constructor syntax."""
from __future__ import annotations

from pathlib import Path

import pytest

from explainer import registry
from explainer.check import FAILED, check
from explainer.formats import render

registry.load()
BUILTINS = [e.name for e in registry.entries() if e.builder.__module__.startswith("explainer.derivations")]
WIDTH = 100
CONSTRUCTORS = ("Sum(", "Matrix([", "Expectation(", "Limit(", "Derivative(", "Integral(", "Piecewise(")


def test_every_builtin_is_found():
    assert len(BUILTINS) >= 19


@pytest.mark.parametrize("name", BUILTINS)
def test_checks_with_the_written_form_rules(name):
    report = check(registry.build(name))
    failed = [f"{r.label}: {r.detail}" for r in report.results if r.status == FAILED]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("name", BUILTINS)
def test_unicode_fits_in_100_columns(name):
    out = render(registry.build(name), "unicode")
    wide = [line for line in out.splitlines() if len(line) > WIDTH]
    assert not wide, f"{len(wide)} lines over {WIDTH} columns, e.g.\n" + "\n".join(wide[:3])


@pytest.mark.parametrize("name", BUILTINS)
def test_text_is_drawn_not_constructor_syntax(name):
    out = render(registry.build(name), "text")
    found = [c for c in CONSTRUCTORS if c in out]
    assert not found, f"plain text shows {found}"


@pytest.mark.parametrize("name, step, words", [("user-vacuous", "step 2", "same as written"),
                                               ("user-unused", "step 1", "'s' is defined but")])
def test_a_users_derivation_breaking_a_rule_fails_check_cleanly(name, step, words):
    from click.testing import CliRunner

    from explainer.cli import cli

    module = str(Path(__file__).parent / "data" / "written_form.py")
    try:
        result = CliRunner().invoke(cli, ["check", name, "--module", module])
    finally:
        registry.unregister(name)
    assert result.exit_code == 1, result.output
    assert f"FAILED {name} {step}: " in result.output and words in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("tty, encoding, expected", [(True, "utf-8", "unicode"), (True, "UTF8", "unicode"),
                                                     (True, "latin-1", "text"), (False, "utf-8", "text")])
def test_show_defaults_to_unicode_only_on_a_utf8_terminal(monkeypatch, tty, encoding, expected):
    import io
    import sys

    from explainer.cli.catalog import terminal_format

    stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    monkeypatch.setattr(stream, "isatty", lambda: tty)
    monkeypatch.setattr(sys, "stdout", stream)
    assert terminal_format() == expected


@pytest.mark.parametrize("unicode", [True, False])
def test_a_compound_name_keeps_its_parentheses_in_a_power(unicode):
    """``(q·k)²`` is drawn with its parentheses (``q·k²`` would square k alone); a plain name is not."""
    import sympy as sp

    from explainer.formats.plain import relation
    from explainer.notation import Named

    qk, norm = Named("q·k", r"\mathbf{q}\cdot\mathbf{k}", real=True), Named("‖q‖", positive=True)
    drawn = relation(qk**2 - norm**2, "=", 0, unicode)
    assert "(q·k)" in drawn and "(‖q‖)" not in drawn
    assert "(q·k)" not in relation(sp.sqrt(qk), "=", 0, unicode)  # a root already groups it
