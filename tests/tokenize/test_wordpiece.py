"""WordPiece: by count it equals tokenizers' WordPieceTrainer; by score it equals a brute-force recount."""
from __future__ import annotations

from fractions import Fraction

import pytest

from explainer.errors import UsageError
from explainer.tokenize import corpus, wordpiece
from tests.tokenize.hf import (PRE_TOKENIZERS, continuation_order, hf_train, small_alphabet_corpus,
                               unicode_corpus)

BUILTIN = corpus.builtin_lines()
CORPORA = {"builtin": BUILTIN, "unicode": unicode_corpus(1), "abc-3": small_alphabet_corpus(3)}


def _same_as_hf(lines, vocab_size, pre_tokenizer):
    theirs = hf_train("wordpiece", lines, vocab_size, pre_tokenizer, ("[UNK]",))
    ours = wordpiece.train(lines, vocab_size, score="count", pre_tokenizer=pre_tokenizer,
                           continuation_order=continuation_order(theirs))
    assert {t: i for i, t in enumerate(ours.vocab)} == theirs.get_vocab()
    return ours, theirs


@pytest.mark.parametrize("pre_tokenizer", list(PRE_TOKENIZERS))
@pytest.mark.parametrize("name", list(CORPORA))
def test_count_rule_equals_tokenizers_wordpiece_trainer(name, pre_tokenizer):
    lines = CORPORA[name]
    start = wordpiece.train(lines, 10**6, score="count", pre_tokenizer=pre_tokenizer).initial_size
    for vocab_size in (start + 3, start + 60, start + 300):
        _same_as_hf(lines, vocab_size, pre_tokenizer)


@pytest.mark.parametrize("name", list(CORPORA))
def test_encoding_equals_tokenizers_including_unk(name):
    lines = CORPORA[name]
    ours, theirs = _same_as_hf(lines, 220, "whitespace")
    tok = ours.tokenizer()
    for text in lines[:20] + ["lowest newest ωmega", "cab 東京 zzz"]:
        assert list(tok.encode(text, unknown="unk").tokens) == theirs.encode(text).tokens


def test_default_order_of_continuation_forms_is_by_code_point():
    trace = wordpiece.train(BUILTIN, 300)
    forms = [t for t in trace.vocab[:trace.initial_size] if t.startswith("##")]
    assert forms == sorted(forms, key=lambda t: ord(t[2]))


def _likelihood_by_brute_force(word_counts: dict[str, int], merges: int):
    """Recount everything from scratch before each merge; pick the best score exactly (Fractions)."""
    splits = {w: [c if k == 0 else "##" + c for k, c in enumerate(w)] for w in word_counts}
    vocab = ["[UNK]"] + sorted({c for w in word_counts for c in w}) + sorted({"##" + c for w in word_counts for c in w[1:]})
    ids = {t: i for i, t in enumerate(vocab)}
    chosen = []
    for _ in range(merges):
        freq, pairs = {}, {}
        for w, n in word_counts.items():
            for t in splits[w]:
                freq[t] = freq.get(t, 0) + n
            for p in zip(splits[w], splits[w][1:]):
                pairs[p] = pairs.get(p, 0) + n
        if not pairs:
            break
        best = max(pairs, key=lambda p: (Fraction(pairs[p], freq[p[0]] * freq[p[1]]), pairs[p], -ids[p[0]], -ids[p[1]]))
        new = best[0] + best[1].removeprefix("##")
        chosen.append((best, Fraction(pairs[best], freq[best[0]] * freq[best[1]])))
        ids.setdefault(new, len(ids))
        for w, pieces in splits.items():
            out = []
            for t in pieces:
                if out and (out[-1], t) == best:
                    out[-1] = new
                else:
                    out.append(t)
            splits[w] = out
    return chosen


@pytest.mark.parametrize("lines", [BUILTIN, small_alphabet_corpus(5), unicode_corpus(2)], ids=["builtin", "abc", "unicode"])
def test_likelihood_rule_equals_a_brute_force_recount(lines):
    start = wordpiece.train(lines, 10**6, score="count").initial_size
    trace = wordpiece.train(lines, start + 60)
    expected = _likelihood_by_brute_force(dict(trace.word_counts), len(trace.merges))
    assert [((m.left, m.right), m.score) for m in trace.merges] == expected


def test_score_prefers_rare_parts_that_stick_together():
    lines = ["low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3]
    by_score = wordpiece.train(lines, 30, pre_tokenizer="whitespace-split")
    first = by_score.merges[0]
    assert (first.left, first.right, first.score) == ("w", "##i", Fraction(3, 9))  # widest ×3: w 3 times, ##i 3 times
    by_count = wordpiece.train(lines, 30, score="count", pre_tokenizer="whitespace-split")
    assert (by_count.merges[0].left, by_count.merges[0].right, by_count.merges[0].count) == ("##e", "##s", 9)


def test_greedy_longest_match():
    vocab = {"un", "##aff", "##able", "##a", "u", "##n"}
    assert wordpiece.segment("unaffable", vocab) == ["un", "##aff", "##able"]
    assert wordpiece.segment("unx", vocab) is None
    assert wordpiece.segment("u" * 101, {"u", "##u"}) is None


def test_bad_input():
    with pytest.raises(UsageError, match="unknown WordPiece score"):
        wordpiece.train(BUILTIN, 300, score="bayes")
    with pytest.raises(UsageError, match="'##' continuation forms"):
        wordpiece.train(BUILTIN, 50)
    tok = wordpiece.train(BUILTIN, 300).tokenizer()
    with pytest.raises(UsageError, match="'ω' are not in the vocabulary"):
        tok.encode("ωmega")
