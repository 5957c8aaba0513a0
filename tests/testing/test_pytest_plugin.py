"""The pytest plugin, run in fresh project directories that only have the package installed (pytester,
in a subprocess, so the pytest11 entry point is what loads it)."""
import pytest

pytest_plugins = ["pytester"]

OWN_DERIVATIONS = '''
import sympy as sp
from explainer.model import Derivation, Step, prove
from explainer.registry import derivation

a, b = sp.symbols("a b", real=True)


@derivation("my-difference-of-squares", "Difference of squares", "vectors")
def good():
    return Derivation(summary="a² − b² = (a − b)(a + b)",
                      steps=(Step(lhs=a**2 - b**2, rhs=(a - b) * (a + b), why="factor", check=prove("expand")),),
                      result=Step(lhs=a**2 - b**2, rhs=(a - b) * (a + b), why="the result"))


@derivation("my-broken-square", "A broken square", "vectors")
def broken():
    return Derivation(summary="a wrong expansion",
                      steps=(Step(lhs=(a + b) ** 2, rhs=a**2 + b**2, why="forgot 2ab"),),
                      result=Step(lhs=a * (a + 1), rhs=a**2 + a, why="a correct result"))
'''


def test_explainer_flag_collects_registered_derivations(pytester: pytest.Pytester):
    pytester.makepyfile(my_derivations=OWN_DERIVATIONS)
    pytester.makepyfile(test_uses_fixture='''
        import pytest

        @pytest.mark.derivation("my-difference-of-squares")
        def test_fixture_by_marker(derivation):
            assert derivation.assert_holds().steps.ok

        @pytest.mark.parametrize("derivation", ["softmax"], indirect=True)
        def test_fixture_by_parametrize(derivation):
            assert derivation.build().title
    ''')
    result = pytester.runpytest_subprocess("--explainer", "--explainer-module", "my_derivations.py",
                                           "-k", "my- or fixture", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["my-broken-square: 1 step(s) of the derivation failed the check",
                                 "*FAILED explainer::my-broken-square*"])


def test_without_the_flag_nothing_is_added_and_nothing_heavy_imported(pytester: pytest.Pytester):
    pytester.makepyfile(test_other_project='''
        import sys

        def test_plugin_is_light():
            assert "explainer.pytest_plugin" in sys.modules  # loaded through the entry point
            assert "torch" not in sys.modules and "sympy" not in sys.modules
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "explainer::" not in result.stdout.str()


def test_explainer_flag_collects_every_built_in_derivation(pytester: pytest.Pytester):
    from explainer import registry

    result = pytester.runpytest_subprocess("--explainer", "--collect-only", "-q", "-p", "no:cacheprovider")
    names = [line.removeprefix("explainer::") for line in result.stdout.lines if line.startswith("explainer::")]
    assert names == list(registry.COURSE)  # the subprocess registers only the built-ins


def test_a_failing_match_shows_the_users_line_and_the_message_not_library_frames(pytester: pytest.Pytester):
    pytester.makepyfile(test_buggy='''
        import torch

        @__import__("pytest").mark.derivation("softmax")
        def test_my_softmax(derivation):
            derivation.assert_matches(lambda x, dim: torch.softmax(x / 2, dim))
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*derivation.assert_matches(*", "E * softmax: your function does not match*",
                                 "E * property violated: wrong scale*"])
    assert "explainer/testing" not in result.stdout.str()
