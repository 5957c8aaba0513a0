"""`rotary-positional-encoding`: the relative-position identity and the layout permutation proved; a wrong
composition rule or a wrong permutation is rejected; the closed forms against a plain NumPy RoPE."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import sympy as sp

from explainer import registry
from explainer.check import FAILED, PROVED, check, check_step
from explainer.derivations import rotary
from explainer.formats import render
from tests.derivations.steps import step_index

NAME = "rotary-positional-encoding"


def _step(d, text):
    return d.steps[step_index(d, text)]


def test_report_ok_and_the_key_identities_proved():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok, report.failures
    for text in ("keeps lengths", "turning back by m", "depends on the offset", "moving both tokens",
                 "half-split layout", "the same for d = 6", "scores agree"):
        assert report.result_for("step", step_index(d, text) + 1).status == PROVED, text


def test_composing_rotations_by_adding_angles_is_rejected():
    d = registry.build(NAME)
    s = _step(d, "turning back by m")
    assert check_step(s.lhs, replace(s, rhs=rotary.R(rotary.m + rotary.n)))[0] == FAILED


def test_the_identity_permutation_does_not_relate_the_layouts():
    d = registry.build(NAME)
    s = _step(d, "half-split layout")
    (P, _), = s.where
    identity = sp.ImmutableMatrix.eye(rotary.D)
    assert check_step(s.lhs.xreplace({P: identity}), replace(s, rhs=s.rhs.xreplace({P: identity}), where=()))[0] == FAILED


def _numpy_rope(x, pos, base, half):
    d = x.shape[-1]
    theta = base ** (-np.arange(0, d, 2) / d)
    cos, sin = np.cos(pos * theta), np.sin(pos * theta)
    if half:  # x·cos + rotate_half(x)·sin
        a, b = x[: d // 2], x[d // 2:]
        return np.concatenate([a * cos - b * sin, b * cos + a * sin])
    out = np.empty_like(x)
    out[0::2] = x[0::2] * cos - x[1::2] * sin
    out[1::2] = x[0::2] * sin + x[1::2] * cos
    return out


def test_closed_forms_match_a_plain_numpy_rope():
    rng = np.random.default_rng(0)
    for base in (10000, 500000):
        forms = rotary.rope_forms(8, base)
        for label, half in (("half_split", True), ("interleaved", False)):
            f = sp.lambdify(*forms[label], "numpy")
            for pos in (0, 3, 17):
                x = rng.normal(size=8)
                got = np.asarray(f(x[None], pos), dtype=float).ravel()
                np.testing.assert_allclose(got, _numpy_rope(x, pos, base, half), rtol=1e-12, atol=1e-12)


def test_layout_permutation_sends_pairs_to_halves():
    P = np.array(rotary.layout_permutation(6).tolist(), dtype=float)
    assert (P @ np.arange(6)).tolist() == [0, 2, 4, 1, 3, 5]
