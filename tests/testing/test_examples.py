"""examples/test_my_attention.py runs as part of the suite: the correct implementation passes and each of
the three subtly wrong ones fails with a message naming what is wrong."""
from pathlib import Path

import pytest

from explainer.testing import assert_matches_derivation

from tests.files import load_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test_my_attention.py"


@pytest.fixture(scope="module")
def example():
    return load_file(EXAMPLE, "example_test_my_attention")


def test_the_correct_implementation_passes(example):
    example.test_my_attention_matches_the_derivation()


@pytest.mark.parametrize("bug, words", [
    ("softmax_over_wrong_axis", "softmax seems taken over the queries"),
    ("scaled_by_d_k", "multiplied by 1/d_k"),
    ("mask_after_softmax", "the mask seems applied after softmax"),
])
def test_each_bug_fails_with_a_message_that_says_what_is_wrong(example, bug, words):
    example.test_subtly_wrong_attention_is_caught(getattr(example, bug), words)  # the example's own check
    with pytest.raises(AssertionError) as info:
        assert_matches_derivation("scaled-dot-product-attention", getattr(example, bug))
    message = str(info.value)
    assert message.startswith("scaled-dot-product-attention: your function does not match")
    for part in ("failing case: seed", "largest error:", f"property violated: ", words):
        assert part in message
