"""A user's own derivation gets a PyTorch verification of its own: ``@check`` from
``explainer.numeric.checks`` (tests/data/user_numeric.py), run by ``verify --module`` and
``assert_derivation_holds``."""
from __future__ import annotations

from pathlib import Path

import pytest

from explainer import registry
from explainer.cli import cli
from explainer.testing import assert_derivation_holds

USER = str(Path(__file__).parents[1] / "data" / "user_numeric.py")


@pytest.fixture(scope="module")
def user_module():
    registry.import_user_module(USER)
    return USER


def test_verify_runs_a_users_check(runner, user_module):
    result = runner.invoke(cli, ["verify", "user-rms", "--device", "cpu", "--module", user_module])
    assert result.exit_code == 0, result.output
    assert "rms vs torch.linalg.vector_norm" in result.output and "passed" in result.output


def test_verify_fails_a_users_wrong_closed_form(runner, user_module):
    result = runner.invoke(cli, ["verify", "user-rms-wrong", "--device", "cpu", "--module", user_module])
    assert result.exit_code == 1, result.output
    assert "failed" in result.output


def test_assert_derivation_holds_verifies_a_users_derivation(user_module):
    report = assert_derivation_holds("user-rms")
    assert report.statuses == {"assumed": 1, "proved": 2}
    assert [r.status for r in report.verification] == ["passed"]
    with pytest.raises(AssertionError, match="does not match PyTorch"):
        assert_derivation_holds("user-rms-wrong")
