"""Every built-in derivation is written as its author means it: it checks (so no vacuous step and no
unused definition), every unicode formula line fits in 100 columns, and the plain-text form is drawn,
not SymPy's constructor syntax."""
from __future__ import annotations

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
