"""Every printer over every built-in derivation: text, unicode, LaTeX (compiled when latex is present),
Markdown and JSON (validated against its schema)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources

import pytest
import sympy as sp

from explainer import registry
from explainer.check import check
from explainer.errors import UsageError
from explainer.formats import FORMATS, render
from explainer.formats.latex import document, escape_text

NAMES = ["dot-product", "softmax"]


@pytest.fixture(scope="module")
def checked():
    out = {}
    for name in NAMES:
        d = registry.build(name)
        out[name] = (d, check(d))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_text_has_title_summary_justifications_and_statuses(checked, name):
    d, report = checked[name]
    out = render(d, "text", report)
    assert d.title in out and d.summary.split()[0] in out
    for step in d.steps:
        assert step.why.split()[0] in out
    assert "[proved" in out and "[assumed]" in out
    assert "Check:" in out and "Check:" not in render(d, "text")


@pytest.mark.parametrize("name", NAMES)
def test_unicode_uses_the_pretty_printer(checked, name):
    d, report = checked[name]
    out = render(d, "unicode", report)
    assert "∑" in out or "─" in out  # two-dimensional sums or fractions


@pytest.mark.parametrize("name", NAMES)
def test_markdown_has_display_math_and_a_symbols_table(checked, name):
    d, report = checked[name]
    out = render(d, "markdown", report)
    assert out.count("$$") >= 2 * len(d.steps) and "| symbol | meaning | shape |" in out
    assert "*proved" in out


@pytest.mark.parametrize("name", NAMES)
def test_json_matches_its_schema(checked, name):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(resources.files("explainer").joinpath("schema/derivation.schema.json").read_text())
    d, report = checked[name]
    for rep in (report, None):
        data = json.loads(render(d, "json", rep))
        jsonschema.validate(data, schema)
        assert data["checked"] is (rep is not None)
    data = json.loads(render(d, "json", report))
    statuses = [s["status"]["status"] for s in data["steps"]]
    assert statuses == [r.status for r in report.results if r.section == "step"]
    assert sp.sympify(data["result"]["rhs"]["srepr"]) == d.result.rhs  # srepr of our own output, not user text


@pytest.mark.skipif(not shutil.which("latex"), reason="latex is not installed (see 'explainer doctor')")
def test_latex_compiles(checked, tmp_path):
    body = "\n".join(render(d, "latex", report) for d, report in checked.values())
    assert body.count(r"\begin{align*}") == len(NAMES)
    (tmp_path / "doc.tex").write_text(document(body))
    run = subprocess.run(["latex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "doc.dvi").stat().st_size > 1000


def test_escape_text_handles_specials_and_unicode_math():
    assert escape_text("50% of a_b") == r"50\% of a\_b"
    assert escape_text("θ ≤ π") == r"\ensuremath{\theta} \ensuremath{\le} \ensuremath{\pi}"


def test_escape_text_writes_scripts_and_hats_as_math():
    assert escape_text("T → 0⁺") == r"T \ensuremath{\to} 0\ensuremath{^{+}}"
    assert escape_text("xₙ") == r"x\ensuremath{_{n}}"
    assert escape_text("x̂") == r"\ensuremath{\hat{x}}"


def test_latex_of_every_derivation_is_plain_ascii(checked):
    """Every character of the built-in derivations has a LaTeX form: none is dropped or left to chance."""
    for d, report in checked.values():
        text = re.sub(r"(?<!\\)%.*", "", render(d, "latex", report))  # comments may hold any UTF-8
        assert text.isascii(), sorted({ch for ch in text if not ch.isascii()})


def test_unknown_format_is_a_usage_error(checked):
    with pytest.raises(UsageError, match="unknown format"):
        render(checked["softmax"][0], "html")
    assert set(FORMATS) == {"text", "unicode", "latex", "markdown", "json"}
