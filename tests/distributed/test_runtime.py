"""Sharded layers across real torch.distributed processes (gloo on the CPU): pass, fail when a shard is
wrong, and refuse bad input or a failing worker with a clear message and no process left behind."""
from __future__ import annotations

import multiprocessing
import socket

import pytest

torch = pytest.importorskip("torch")

from explainer.cli import cli  # noqa: E402
from explainer.distributed.verify import verify  # noqa: E402
from explainer.errors import UsageError  # noqa: E402
from explainer.testing import assert_matches_derivation  # noqa: E402
from tests.distributed import sharded  # noqa: E402


@pytest.fixture(autouse=True)
def no_stray_workers():
    """Every test must end with every worker process it started gone."""
    yield
    assert multiprocessing.active_children() == []


def test_cli_tensor_parallel_attention_two_ranks_passes(runner):
    result = runner.invoke(cli, ["verify", "tensor-parallel-attention", "--world-size", "2", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "across 2 processes: backend gloo, device cpu" in out
    assert "\n6 passed\n" in out                               # output, ∂X and four parameter gradients
    assert "forward: ranks sent [" in out and "formula 16384 B" in out   # 2(p−1)/p·B·T·d·8 with B·T·d = 2048
    assert "failed" not in out


def test_planted_missing_all_reduce_fails_with_the_mismatch():
    with pytest.raises(AssertionError) as info:
        assert_matches_derivation("tensor-parallel-mlp", sharded.missing_all_reduce, world_size=2)
    message = str(info.value)
    assert "your sharded function does not match the single-process oracle" in message
    assert "forward: output on every rank: largest error" in message
    assert "worst entry [" in message and "oracle " in message and "sharded " in message
    assert "forward: ranks sent [0, 0] B, formula 16384 B; a rank sent less than the formula" in message


def test_a_worker_that_dies_ends_the_run():
    with pytest.raises(AssertionError, match=r"rank 1 exited with code 3 before it finished; every worker was ended"):
        assert_matches_derivation("tensor-parallel-mlp", sharded.dies, world_size=2)


@pytest.mark.parametrize("name, size, words", [
    ("tensor-parallel-attention", 3, "does not divide the 8 heads"),
    ("tensor-parallel-mlp", 3, "does not divide the MLP width d_ff = 256"),
    ("ring-attention", 3, "does not divide the sequence length T = 16"),
    ("ring-attention", 0, "--world-size must be a positive integer, got 0"),
    ("ring-attention", -1, "--world-size must be a positive integer, got -1"),
])
def test_impossible_world_sizes_are_refused_before_any_process_starts(name, size, words):
    with pytest.raises(UsageError, match=words):
        verify(name, size)


@pytest.mark.skipif(torch.cuda.device_count() >= 2, reason="this machine has the GPUs NCCL needs")
def test_nccl_without_gpus_is_refused():
    with pytest.raises(UsageError, match=r"--device cuda .*NCCL"):
        verify("tensor-parallel-mlp", 2, device="cuda")


def test_a_taken_master_port_is_refused(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("MASTER_PORT", str(taken.getsockname()[1]))
        with pytest.raises(UsageError, match=r"\(MASTER_PORT\) is already in use"):
            verify("tensor-parallel-mlp", 2)


def test_a_non_loopback_master_addr_is_refused(monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "10.1.2.3")
    with pytest.raises(UsageError, match="only use the loopback interface"):
        verify("tensor-parallel-mlp", 2)


def test_cli_bad_world_size_exits_2(runner):
    result = runner.invoke(cli, ["verify", "tensor-parallel-attention", "--world-size", "3"])
    assert result.exit_code == 2
    assert "does not divide the 8 heads" in result.output and "Traceback" not in result.output


def test_world_size_with_another_derivation_exits_2(runner):
    result = runner.invoke(cli, ["verify", "softmax", "--world-size", "2"])
    assert result.exit_code == 2
    assert "runs only the sharded derivations" in result.output


def test_a_lambda_cannot_be_sent_to_the_workers():
    with pytest.raises(TypeError, match="define it at module level"):
        assert_matches_derivation("tensor-parallel-mlp", lambda x, shard: x, world_size=2)


# --- slower: more runs of 2 ranks, and 4 ranks ----------------------------------------------------------
@pytest.mark.slow
@pytest.mark.derivation("tensor-parallel-mlp")
def test_a_users_own_mlp_passes_through_the_pytest_fixture(derivation):
    outcome = derivation.assert_matches(sharded.right_mlp, world_size=2)
    assert outcome.ok and [c.status for c in outcome.comm] == ["passed", "passed"]


@pytest.mark.slow
def test_ring_attention_two_ranks_plain_and_causal():
    outcome = verify("ring-attention", 2)
    assert outcome.ok, [r for r in outcome.rows if r.status != "passed"]
    assert {r.check.split(":")[0] for r in outcome.rows} >= {"forward", "backward", "causal"}
    assert [c.phase for c in outcome.comm] == ["forward", "backward", "gradient sync"] * 2


@pytest.mark.slow
def test_planted_bias_on_every_rank_fails():
    with pytest.raises(AssertionError, match=r"forward: output on every rank: largest error"):
        assert_matches_derivation("tensor-parallel-mlp", sharded.bias_on_every_rank, world_size=2)


@pytest.mark.slow
def test_planted_missing_backward_all_reduce_fails_only_backward():
    with pytest.raises(AssertionError) as info:
        assert_matches_derivation("tensor-parallel-mlp", sharded.no_backward_all_reduce, world_size=2)
    message = str(info.value)
    assert "backward: ∂L/∂X on every rank: largest error" in message
    assert "forward: output" not in message
    assert "backward: ranks sent [0, 0] B" in message


@pytest.mark.slow
def test_a_worker_that_hangs_is_ended_after_the_timeout():
    with pytest.raises(AssertionError, match=r"did not finish within 10 s .*every worker was ended"):
        assert_matches_derivation("tensor-parallel-mlp", sharded.hangs, world_size=2, timeout=10)


@pytest.mark.slow
def test_a_worker_that_raises_shows_its_error():
    with pytest.raises(AssertionError, match=r"rank 1 failed: ValueError: planted: shapes do not line up"):
        assert_matches_derivation("tensor-parallel-mlp", sharded.raises, world_size=2)


@pytest.mark.slow
def test_a_wrong_output_shape_is_named():
    with pytest.raises(AssertionError, match=r"returned shape \(2, 16, 32\); this rank's output has the shape"):
        assert_matches_derivation("tensor-parallel-mlp", sharded.wrong_shape, world_size=2)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tensor-parallel-attention", "tensor-parallel-mlp", "ring-attention"])
def test_four_ranks(name):
    outcome = verify(name, 4)
    assert outcome.ok, [r for r in outcome.rows if r.status != "passed"] + [c for c in outcome.comm]
    assert all(c.status == "passed" for c in outcome.comm)


@pytest.mark.slow
def test_planted_ring_without_the_causal_mask_fails_only_the_causal_case():
    with pytest.raises(AssertionError) as info:
        assert_matches_derivation("ring-attention", sharded.ring_ignores_the_mask, world_size=2)
    failed = [line.split(":")[0].strip() for line in str(info.value).splitlines()[1:]]
    assert failed and set(failed) == {"causal"}
