"""The check cache: reused only for identical content, labelled in the output, never used by `check`."""
from __future__ import annotations

import dataclasses

import sympy as sp

from explainer import cache, registry
from explainer.cli import cli
from explainer.model import Step


def test_second_show_reuses_the_report_and_says_so(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    first = runner.invoke(cli, ["show", "softmax"])
    second = runner.invoke(cli, ["show", "softmax"])
    assert first.exit_code == second.exit_code == 0
    assert "earlier identical check" not in first.output and "earlier identical check" in second.output
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_a_changed_step_changes_the_key():
    d = registry.build("softmax")
    changed = dataclasses.replace(d, steps=d.steps[:-1] + (Step(lhs=sp.Integer(1), rhs=sp.Integer(1), why="x"),))
    assert cache.key(d) == cache.key(registry.build("softmax")) != cache.key(changed)


def test_check_never_reads_the_cache(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    d = registry.build("softmax")
    path = tmp_path / f"{cache.key(d)}.json"
    path.write_text('{"seconds": 0, "results": []}')  # a poisoned entry: no steps at all
    assert "12 proved" in runner.invoke(cli, ["check", "softmax"]).output
    report, from_cache = cache.cached_check(d)
    assert from_cache and report.results == ()


def test_off_and_unwritable_directories_are_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", "off")
    assert cache.directory() is None and cache.cached_check(registry.build("softmax"))[1] is False
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(blocker / "sub"))
    report, from_cache = cache.cached_check(registry.build("softmax"))
    assert report.ok and not from_cache
