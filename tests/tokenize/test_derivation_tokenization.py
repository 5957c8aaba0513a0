"""The ``tokenization`` derivation: every step checks, fast, and its measured numbers are recomputed here."""
from __future__ import annotations

import time

from explainer import registry
from explainer.check import check
from explainer.tokenize import corpus


def test_builds_and_checks_in_well_under_a_second():
    registry.load()  # import every derivation module first: only this one's build and check are timed
    start = time.perf_counter()
    d = registry.build("tokenization")
    report = check(d)
    assert report.ok and time.perf_counter() - start < 1.0
    assert {r.status for r in report.results} <= {"proved", "assumed"}
    assert d.topic == "tokenization"


def test_measured_numbers_match_a_plain_recount():
    text = " ".join(step.why for step in registry.build("tokenization").example)
    lines = corpus.builtin_lines()
    words = sum(len(line.split()) for line in lines)          # metaspace words = space-separated words
    chars = sum(len(word) + 1 for line in lines for word in line.split())  # + one ▁ per word
    assert f"{words} words" in text and f"{chars} characters" in text
    assert "count(e, s)" in text and "newest ×6, widest ×3" in text
