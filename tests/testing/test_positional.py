"""The positional-encoding spec: the exp–log table passes in both dtypes; two layout bugs are named."""
import math

import pytest
import torch

from explainer.testing import assert_matches_derivation


def table(n, d, dtype=torch.float32, halves=False, base=10000.0):
    position = torch.arange(n, dtype=dtype).unsqueeze(1)                                  # (n, 1)
    rate = torch.exp(torch.arange(0, d, 2, dtype=dtype) * (-math.log(base) / d))        # (d/2,)
    if halves:
        return torch.cat([torch.sin(position * rate), torch.cos(position * rate)], dim=1)
    pe = torch.zeros(n, d, dtype=dtype)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(position * rate), torch.cos(position * rate)
    return pe


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_the_usual_table_passes(dtype):
    assert assert_matches_derivation("positional-encoding", lambda n, d: table(n, d, dtype)).cases == 5


def test_sin_and_cos_in_halves_is_named():
    with pytest.raises(AssertionError, match="sin and cos in two halves instead of interleaved"):
        assert_matches_derivation("positional-encoding", lambda n, d: table(n, d, halves=True))


def test_a_wrong_base_is_a_wrong_frequency():
    with pytest.raises(AssertionError, match=r"wrong frequencies \(scale\)"):
        assert_matches_derivation("positional-encoding", lambda n, d: table(n, d, base=1000.0))
