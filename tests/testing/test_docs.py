"""The runnable examples in explainer.testing's docstrings run (doctest)."""
import doctest

import explainer.testing


def test_public_api_docstring_examples_run():
    result = doctest.testmod(explainer.testing, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0
