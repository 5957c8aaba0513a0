"""The runnable examples in the public API's docstrings run (doctest): explainer.testing (its module
docstring shows how to register a derivation, assert_matches_derivation) and assert_derivation_holds,
which lives in explainer.testing.holds (doctest.testmod skips functions imported from another module)."""
import doctest

import pytest

import explainer.testing
import explainer.testing.holds


@pytest.mark.parametrize("module, at_least", [(explainer.testing, 12), (explainer.testing.holds, 2)])
def test_public_api_docstring_examples_run(module, at_least):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= at_least and result.failed == 0


def test_every_public_function_has_an_example():
    finder = doctest.DocTestFinder()
    tested = {t.name.rsplit(".", 1)[-1] for m in (explainer.testing, explainer.testing.holds)
              for t in finder.find(m) if t.examples}
    functions = {n for n in explainer.testing.__all__ if callable(getattr(explainer.testing, n))
                 and not isinstance(getattr(explainer.testing, n), type)}
    assert functions == {"assert_matches_derivation", "assert_derivation_holds"}
    assert functions <= tested
