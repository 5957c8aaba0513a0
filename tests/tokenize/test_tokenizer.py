"""Encode, decode, save and load a trained tokenizer."""
from __future__ import annotations

import json

import pytest

from explainer.errors import UsageError
from explainer.tokenize import bpe, corpus, wordpiece
from explainer.tokenize.pretokenize import whitespace
from explainer.tokenize.tokenizer import Tokenizer

BUILTIN = corpus.builtin_lines()


@pytest.fixture(scope="module")
def bpe_tok() -> Tokenizer:
    return bpe.train(BUILTIN, 200).tokenizer()


def test_metaspace_decode_round_trips(bpe_tok):
    for text in BUILTIN[:10] + ["two  spaces", "trailing ", "café,naïve"]:
        enc = bpe_tok.encode(text)
        assert bpe_tok.decode(enc.ids) == text
        assert "".join(enc.tokens).replace("▁", " ").removeprefix(" ") == text
        assert [p for _, pieces in enc.words for p in pieces] == list(enc.tokens)


def test_wordpiece_whitespace_decode_gives_the_words_back():
    tok = wordpiece.train(BUILTIN, 300).tokenizer()
    for text in BUILTIN[:10]:
        assert tok.decode(tok.encode(text).ids) == " ".join(whitespace(text))


def test_wordpiece_with_metaspace_round_trips():
    tok = wordpiece.train(BUILTIN, 300, pre_tokenizer="metaspace").tokenizer()
    for text in BUILTIN[:10]:
        assert tok.decode(tok.encode(text).ids) == text


@pytest.mark.parametrize("algorithm", ["bpe", "wordpiece"])
def test_save_and_load_give_the_same_tokenizer(tmp_path, algorithm):
    trace = (bpe.train if algorithm == "bpe" else wordpiece.train)(BUILTIN, 250)
    path = tmp_path / "vocab.json"
    trace.tokenizer().save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "explainer-tokenizer" and data["vocab"] == list(trace.vocab)
    assert data["merges"] == [[m.left, m.right] for m in trace.merges]
    loaded = Tokenizer.load(path)
    assert loaded == trace.tokenizer()
    assert loaded.encode(BUILTIN[3]) == trace.tokenizer().encode(BUILTIN[3])


def test_bad_files_and_ids(tmp_path, bpe_tok):
    with pytest.raises(UsageError, match="not found"):
        Tokenizer.load(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(UsageError, match="not a vocabulary file"):
        Tokenizer.load(tmp_path / "x.json")
    (tmp_path / "bin").write_bytes(b"\xff\x00\x01")
    with pytest.raises(UsageError, match="not UTF-8 JSON"):
        Tokenizer.load(tmp_path / "bin")
    (tmp_path / "broken.json").write_text('{"format": "explainer-tokenizer", "algorithm": "bpe"}')
    with pytest.raises(UsageError, match="damaged"):
        Tokenizer.load(tmp_path / "broken.json")
    with pytest.raises(UsageError, match="not in the vocabulary"):
        bpe_tok.decode([10**6])
    with pytest.raises(UsageError, match="no \\[UNK\\] token"):
        bpe_tok.encode("x", unknown="unk")
