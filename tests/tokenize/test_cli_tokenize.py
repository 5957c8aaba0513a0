"""``explainer tokenize train|encode``: output agrees with the API, bad input exits 2 without a traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from explainer.cli import cli
from explainer.tokenize import bpe, corpus, wordpiece


def test_train_json_is_the_trace(runner):
    result = runner.invoke(cli, ["tokenize", "train", "--vocab-size", "80", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    trace = bpe.train(corpus.builtin_lines(), 80)
    assert [(m["left"], m["right"], m["count"], m["vocab_size"]) for m in data["merges"]] == \
        [(m.left, m.right, m.count, m.vocab_size) for m in trace.merges]
    assert data["vocab"] == list(trace.vocab) and data["vocab_size"] == 80


def test_train_text_shows_pairs_counts_and_sizes(runner):
    result = runner.invoke(cli, ["tokenize", "train", "-n", "60"])
    assert result.exit_code == 0
    assert "▁ + t → ▁t" in result.output and "vocabulary: 60 tokens after 5 merges" in result.output
    assert result.output.startswith("bpe on the built-in corpus: ")


def test_train_on_a_file_names_it_and_says_when_it_stopped_early(runner, tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("low lower lowest\nnewer wider widest\n", encoding="utf-8")
    result = runner.invoke(cli, ["tokenize", "train", "--corpus", str(path), "-n", "1000"])
    assert result.exit_code == 0
    assert result.output.startswith(f"bpe on {path}: 6 words (6 distinct)")
    assert "training stopped below the requested 1000" in result.output


def test_wordpiece_train_prints_scores(runner, tmp_path):
    save = tmp_path / "wp.json"
    result = runner.invoke(cli, ["tokenize", "train", "-a", "wordpiece", "-n", "120", "--save", str(save), "--json"])
    data = json.loads(result.output)
    first = wordpiece.train(corpus.builtin_lines(), 120).merges[0]
    assert data["merges"][0]["score"] == str(first.score) and save.is_file()
    text = runner.invoke(cli, ["tokenize", "train", "-a", "wordpiece", "-n", "120"]).output
    assert "score = count / (freq(a) · freq(b))" in text


def test_encode_round_trips_and_reads_a_saved_vocabulary(runner, tmp_path):
    result = runner.invoke(cli, ["tokenize", "encode", "the lowest tokens", "--json"])
    data = json.loads(result.output)
    tok = bpe.train(corpus.builtin_lines(), 200).tokenizer()
    assert data["tokens"] == list(tok.encode("the lowest tokens").tokens)
    assert data["decoded"] == "the lowest tokens" and data["round_trip"] is True
    save = tmp_path / "v.json"
    runner.invoke(cli, ["tokenize", "train", "-n", "120", "--save", str(save)])
    again = runner.invoke(cli, ["tokenize", "encode", "the lowest tokens", "--vocab", str(save)])
    assert again.exit_code == 0 and "round trip: exact" in again.output
    assert runner.invoke(cli, ["tokenize", "encode", "x", "--vocab", str(save), "-a", "wordpiece"]).exit_code == 2


@pytest.mark.parametrize("args, message", [
    (["train", "--corpus", "MISSING"], "corpus file not found"),
    (["train", "--corpus", "BINARY"], "looks binary"),
    (["train", "--corpus", "EMPTY"], "is empty"),
    (["train", "--vocab-size", "10"], "smaller than the starting vocabulary"),
    (["train", "--vocab-size", "0"], "positive integer"),
    (["encode", "ωmega"], "'ω' are not in the vocabulary"),
    (["encode", "hello", "--vocab", "EMPTY"], "not a vocabulary file"),
    (["train", "--corpus", "LATIN1"], "is not UTF-8 text"),
    (["train", "--corpus", "BLANK"], "is empty"),
    (["train", "-a", "wordpiece", "--vocab-size", "50"], "'##' continuation forms"),
    (["encode", "ωmega", "-a", "wordpiece"], "'ω' are not in the vocabulary"),
])
def test_bad_input_exits_2_with_a_message(runner, tmp_path, args, message):
    files = {"MISSING": tmp_path / "missing.txt", "BINARY": tmp_path / "b.bin", "EMPTY": tmp_path / "e.txt"}
    files["BINARY"].write_bytes(bytes(range(256)))
    files["EMPTY"].write_text("")
    files["LATIN1"] = tmp_path / "latin1.txt"
    files["LATIN1"].write_bytes("café naïve\n".encode("latin-1"))
    files["BLANK"] = tmp_path / "blank.txt"
    files["BLANK"].write_text("  \n\n\t\n")
    args = [str(files.get(a, a)) for a in args]
    result = runner.invoke(cli, ["tokenize", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_help_has_examples(runner):
    for sub in ([], ["train"], ["encode"]):
        result = runner.invoke(cli, ["tokenize", *sub, "--help"])
        assert result.exit_code == 0 and "explainer tokenize" in result.output


def test_cli_imports_neither_torch_manim_nor_tokenizers():
    code = ("import sys\nfrom explainer.cli import cli\n"
            "try:\n    cli(['tokenize', 'encode', 'the lowest tokens'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'manim', 'tokenizers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
