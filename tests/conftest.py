"""Shared fixtures: a click runner and the deliberately broken derivations of tests/data/broken.py."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

BROKEN = Path(__file__).parent / "data" / "broken.py"

# Never read or write the user's check cache from the tests (subprocesses inherit this too).
os.environ["EXPLAINER_CACHE_DIR"] = tempfile.mkdtemp(prefix="explainer-test-cache-")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def broken_module() -> str:
    """Path of a module that registers correct and deliberately broken derivations."""
    return str(BROKEN)
