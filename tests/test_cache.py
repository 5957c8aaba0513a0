"""The check cache: reused only for identical content, labelled in the output, never used by `check`."""
from __future__ import annotations

import dataclasses
import json

import pytest
import sympy as sp

from explainer import cache, registry
from explainer.cli import cli
from explainer.model import Step


def test_second_show_reuses_the_report_and_says_so(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    first = runner.invoke(cli, ["show", "dot-product"])
    second = runner.invoke(cli, ["show", "dot-product"])
    assert first.exit_code == second.exit_code == 0
    assert "earlier identical check" not in first.output and "earlier identical check" in second.output
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_a_changed_step_changes_the_key():
    d = registry.build("softmax")
    changed = dataclasses.replace(d, steps=d.steps[:-1] + (Step(lhs=sp.Integer(1), rhs=sp.Integer(1), why="x"),))
    assert cache.key(d) == cache.key(registry.build("softmax")) != cache.key(changed)


def test_check_never_reads_the_cache(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    d = registry.build("dot-product")
    fresh = cache.cached_check(d)[0]
    path = tmp_path / f"{cache.key(d)}.json"
    entry = json.loads(path.read_text())
    for r in entry["results"]:
        r["status"] = "failed"  # a poisoned entry, well-formed: only show may use it
    path.write_text(json.dumps(entry))
    assert runner.invoke(cli, ["check", "dot-product"]).exit_code == (0 if fresh.ok else 1)
    report, from_cache = cache.cached_check(d)
    assert from_cache and not report.ok


@pytest.mark.parametrize("edit", [
    lambda e: {"seconds": 0, "results": []},                               # emptied
    lambda e: {**e, "results": e["results"][:3]},                          # truncated
    lambda e: {**e, "results": e["results"][::-1]},                        # reordered
    lambda e: {**e, "results": [{**r, "status": "great"} for r in e["results"]]},  # unknown status
    lambda e: {**e, "results": [{**r, "detail": 3} for r in e["results"]]},        # wrong type
])
def test_an_entry_edited_by_hand_is_recomputed(tmp_path, monkeypatch, edit):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    d = registry.build("dot-product")
    fresh = cache.cached_check(d)[0]
    path = tmp_path / f"{cache.key(d)}.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    report, from_cache = cache.cached_check(d)
    assert not from_cache
    assert [(r.label, r.status) for r in report.results] == [(r.label, r.status) for r in fresh.results]
    assert cache.cached_check(d)[1]  # rewritten: the next show uses it again


def test_off_and_unwritable_directories_are_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", "off")
    assert cache.directory() is None and cache.cached_check(registry.build("softmax"))[1] is False
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(blocker / "sub"))
    report, from_cache = cache.cached_check(registry.build("dot-product"))
    assert report.ok and not from_cache
    assert "cannot use the check cache" in capsys.readouterr().err
