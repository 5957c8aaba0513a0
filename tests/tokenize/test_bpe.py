"""BPE against Hugging Face tokenizers: same merges, same vocabulary (ids included), same encodings."""
from __future__ import annotations

import pytest

from explainer.errors import UsageError
from explainer.tokenize import bpe, corpus
from explainer.tokenize.learner import merge_word
from tests.tokenize.hf import (PRE_TOKENIZERS, hf_merges, hf_train, small_alphabet_corpus, unicode_corpus)

BUILTIN = corpus.builtin_lines()
CORPORA = {"builtin": BUILTIN, "unicode": unicode_corpus(), "abc-7": small_alphabet_corpus(7),
           "abc-11": small_alphabet_corpus(11)}
TEXTS = ["the lowest tokens", "Tokenizers learn merges, then encode: newer, wider, widest!",
         "naïve café déjà vu", "aaaa abcabc cab baaab"]


def _same_as_hf(lines, vocab_size, pre_tokenizer, special_tokens=()):
    ours = bpe.train(lines, vocab_size, pre_tokenizer=pre_tokenizer, special_tokens=special_tokens)
    theirs = hf_train("bpe", lines, vocab_size, pre_tokenizer, special_tokens)
    assert {t: i for i, t in enumerate(ours.vocab)} == theirs.get_vocab()
    assert [(m.left, m.right) for m in ours.merges] == hf_merges(theirs)
    return ours, theirs


@pytest.mark.parametrize("pre_tokenizer", list(PRE_TOKENIZERS))
@pytest.mark.parametrize("name", list(CORPORA))
def test_merges_and_vocabulary_equal_tokenizers(name, pre_tokenizer):
    lines = CORPORA[name]
    for vocab_size in (bpe.train(lines, 10**6, pre_tokenizer=pre_tokenizer).initial_size + 5, 150, 400):
        _same_as_hf(lines, vocab_size, pre_tokenizer)


def test_special_tokens_come_first_like_tokenizers():
    ours, _ = _same_as_hf(BUILTIN, 120, "metaspace", ("<s>", "</s>", "[UNK]"))
    assert ours.vocab[:3] == ("<s>", "</s>", "[UNK]")


@pytest.mark.parametrize("name", ["builtin", "unicode", "abc-7"])
def test_encoding_equals_tokenizers(name):
    lines = CORPORA[name]
    ours, theirs = _same_as_hf(lines, 250, "metaspace")
    tok = ours.tokenizer()
    known = set(tok.ids)
    texts = [t for t in TEXTS + lines[:15] if set(t.replace(" ", "▁")) <= known]
    assert len(texts) >= 10
    for text in texts:
        enc, ref = tok.encode(text), theirs.encode(text)
        assert list(enc.tokens) == ref.tokens
        assert list(enc.ids) == ref.ids
        assert tok.decode(enc.ids) == theirs.decode(ref.ids) == text.lstrip(" ")


def test_unknown_characters_become_unk_like_tokenizers():
    ours, theirs = _same_as_hf(BUILTIN, 150, "whitespace", ("[UNK]",))
    text = "the ωlowestω tokens ∑"
    assert list(ours.tokenizer().encode(text, unknown="unk").tokens) == theirs.encode(text).tokens
    with pytest.raises(UsageError, match="'ω' are not in the vocabulary"):
        ours.tokenizer().encode(text)


def test_first_merge_is_the_most_frequent_pair_counted_by_hand():
    lines = ["low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3]
    trace = bpe.train(lines, 15, pre_tokenizer="whitespace-split")
    # newest ×6 and widest ×3 hold (e, s) and (s, t) once each: 9 each, the top count; e < s breaks the tie
    assert [(m.left, m.right, m.count) for m in trace.merges[:2]] == [("e", "s", 9), ("es", "t", 9)]
    assert trace.merges[0].vocab_size == len(set("lowernwstid")) + 1


def test_splits_follow_the_merges_and_end_at_the_encoding():
    trace = bpe.train(BUILTIN, 200)
    tok = trace.tokenizer()
    for word in ("lowest", "tokenizer", "vocabulary", "newest"):
        steps = trace.word_steps(word)
        assert steps[0] == (None, tuple("▁" + word))
        for (_, before), (merge, after) in zip(steps, steps[1:]):
            assert len(after) < len(before) and merge.token in after
            assert "".join(after) == "▁" + word
        assert steps[-1][1] == tok.encode(word).tokens
        assert len(trace.splits(word)) == len(trace.merges) + 1


def test_merge_word_matches_the_tokenizers_unit_test():
    # tokenizers' word.rs test_merge: h e l l o, merge (l, l) -> ll
    ids = [0, 1, 2, 2, 3]
    changes, replaced = merge_word(ids, (2, 2), 4)
    assert ids == [0, 1, 4, 3] and replaced == 1
    assert changes == [((1, 2), -1), ((1, 4), 1), ((2, 3), -1), ((4, 3), 1)]


def test_overlapping_pair_is_counted_twice_but_merged_once():
    trace = bpe.train(["aaa"], 2, pre_tokenizer="whitespace-split")
    assert (trace.merges[0].count, trace.merges[0].replaced) == (2, 1)
    assert trace.splits("aaa")[-1] == ("aa", "a")


def test_bad_input_is_a_usage_error():
    with pytest.raises(UsageError, match="smaller than the starting vocabulary"):
        bpe.train(BUILTIN, 10)
    with pytest.raises(UsageError, match="empty"):
        bpe.train(["", "   "], 100)
    with pytest.raises(UsageError, match="positive integer"):
        bpe.train(BUILTIN, 0)
    with pytest.raises(UsageError, match="unknown pre-tokenizer"):
        bpe.train(BUILTIN, 100, pre_tokenizer="bytes")
    with pytest.raises(UsageError, match="2 words"):
        bpe.train(BUILTIN, 100).word_steps("two words")


def test_stops_early_when_no_pair_is_left():
    trace = bpe.train(["ab ab"], 50, pre_tokenizer="whitespace-split")
    assert trace.stopped_early and trace.vocab == ("a", "b", "ab")


def test_module_docstring_example_runs():
    import doctest

    result = doctest.testmod(bpe)
    assert result.attempted >= 2 and result.failed == 0
