"""``explainer tokenize train|encode``: learn a BPE or WordPiece vocabulary and watch it split text.

Pure Python (explainer.tokenize); never imports torch, manim or tokenizers.
"""
from __future__ import annotations

import json
import textwrap
import unicodedata

import click
from click.core import ParameterSource

from explainer.errors import UsageError
from explainer.tokenize import ALGORITHMS
from explainer.tokenize.pretokenize import PRE_TOKENIZERS

DEFAULT_VOCAB_SIZE = 200
DEFAULT_PRE_TOKENIZER = {"bpe": "metaspace", "wordpiece": "whitespace"}

algorithm_option = click.option("--algorithm", "-a", type=click.Choice(ALGORITHMS), default=None,
                                help="Learning rule.  [default: bpe]")
corpus_option = click.option("--corpus", "-c", metavar="FILE",
                             help="UTF-8 text file to learn from, one line at a time ('-': standard input).  "
                                  "[default: the built-in corpus]")
vocab_size_option = click.option("--vocab-size", "-n", type=int, default=DEFAULT_VOCAB_SIZE, show_default=True,
                                 help="Vocabulary size to reach (special tokens and alphabet included).")
pre_tokenizer_option = click.option("--pre-tokenizer", "-p", type=click.Choice(PRE_TOKENIZERS), default=None,
                                    help="How a line is cut into words.  [default: metaspace for bpe, whitespace "
                                         "for wordpiece]")
score_option = click.option("--score", type=click.Choice(["likelihood", "count"]), default="likelihood",
                            show_default=True,
                            help="WordPiece only: freq(ab)/(freq(a)·freq(b)), or the plain count that "
                                 "tokenizers' WordPieceTrainer uses.")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("tokenize", context_settings={"help_option_names": ["-h", "--help"]})
def tokenize_group() -> None:
    """Learn a subword vocabulary (BPE or WordPiece) and split text with it.

    \b
    Examples:
      explainer tokenize train --vocab-size 80
      explainer tokenize train --algorithm wordpiece --corpus notes.txt --vocab-size 300 --save wp.json
      explainer tokenize encode "the lowest tokens"
      explainer tokenize encode "the lowest tokens" --vocab wp.json --json
    """


@tokenize_group.command("train")
@algorithm_option
@corpus_option
@vocab_size_option
@pre_tokenizer_option
@score_option
@click.option("--save", metavar="FILE", help="Write the vocabulary and merges to FILE (JSON, read by 'encode --vocab').")
@click.option("--limit", type=click.IntRange(min=0), metavar="N",
              help="Print only the first N merges (all are learned, saved and in --json).")
@json_option
def train_command(algorithm, corpus, vocab_size, pre_tokenizer, score, save, limit, as_json) -> None:
    """Learn a vocabulary and print every merge in order: the pair, its count (BPE) or its score
    freq(ab)/(freq(a)·freq(b)) (WordPiece), and the vocabulary size after it.

    \b
    Examples:
      explainer tokenize train
      explainer tokenize train --vocab-size 100 --json
      explainer tokenize train -a wordpiece --score count --corpus my.txt -n 500 --save vocab.json
      cat notes.txt | explainer tokenize train --corpus - --limit 20
    """
    trace, source = _train(algorithm or "bpe", corpus, vocab_size, pre_tokenizer, score)
    if save:
        trace.tokenizer().save(save)
    if as_json:
        click.echo(json.dumps(_trace_json(trace, source), ensure_ascii=False, indent=1))
        return
    _print_trace(trace, source, limit)
    if save:
        click.echo(f"saved: {save}")


@tokenize_group.command("encode")
@click.argument("text")
@algorithm_option
@click.option("--vocab", "-v", "vocab_file", metavar="FILE",
              help="Vocabulary file from 'train --save'.  [default: train on --corpus now]")
@corpus_option
@vocab_size_option
@pre_tokenizer_option
@score_option
@json_option
def encode_command(text, algorithm, vocab_file, corpus, vocab_size, pre_tokenizer, score, as_json) -> None:
    """Split TEXT into tokens and ids, show how each word was split, and decode the ids back.

    \b
    Examples:
      explainer tokenize encode "the lowest tokens"
      explainer tokenize encode "the lowest tokens" --algorithm wordpiece
      explainer tokenize encode "naïve café" --vocab vocab.json --json
    """
    if vocab_file:
        from explainer.tokenize.tokenizer import Tokenizer

        _refuse_training_options("--vocab loads a trained vocabulary", "corpus", "vocab_size", "pre_tokenizer", "score")
        tokenizer = Tokenizer.load(vocab_file)
        if algorithm and algorithm != tokenizer.algorithm:
            raise UsageError(f"{vocab_file} holds a {tokenizer.algorithm} vocabulary, not {algorithm}")
    else:
        tokenizer = _train(algorithm or "bpe", corpus, vocab_size, pre_tokenizer, score)[0].tokenizer()
    encoding = tokenizer.encode(text)
    decoded = tokenizer.decode(encoding.ids)
    if as_json:
        click.echo(json.dumps({"text": text, "algorithm": tokenizer.algorithm, "pre_tokenizer": tokenizer.pre_tokenizer,
                               "tokens": list(encoding.tokens), "ids": list(encoding.ids),
                               "words": [{"word": w, "pieces": list(p)} for w, p in encoding.words],
                               "decoded": decoded, "round_trip": decoded == text}, ensure_ascii=False, indent=1))
        return
    click.echo(f"text:    {text!r}  ({len(text)} characters)")  # repr: control characters escaped
    click.echo(f"words:   {len(encoding.words)} after the {tokenizer.pre_tokenizer} pre-tokenizer")
    for word, pieces in encoding.words:
        click.echo(f"  {_pad(visible(word), 16)} → {' + '.join(map(visible, pieces))}")
    click.echo(f"tokens:  {' '.join(map(visible, encoding.tokens))}  ({len(encoding.tokens)} tokens)")
    click.echo(f"ids:     {list(encoding.ids)}")
    same = "exact" if decoded == text else "spacing not kept by this pre-tokenizer"
    click.echo(f"decoded: {decoded!r}  (round trip: {same})")


def _refuse_training_options(why: str, *names: str) -> None:
    """A UsageError when any of the options ``names`` was given on the command line: they would be ignored."""
    ctx = click.get_current_context()
    given = [f"--{n.replace('_', '-')}" for n in names
             if ctx.get_parameter_source(n) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)]
    if given:
        raise UsageError(f"{why}, so {', '.join(given)} would be ignored: give either --vocab or the training "
                         "options, not both")


def _train(algorithm: str, corpus: str | None, vocab_size: int, pre_tokenizer: str | None, score: str):
    """Train on ``corpus`` (or the built-in corpus); return the trace and a name for the corpus."""
    from explainer import tokenize
    from explainer.tokenize import corpus as corpora

    if corpus:
        lines, source = corpora.read_corpus(corpus), "standard input" if corpus == "-" else corpus
    else:
        lines, source = corpora.builtin_lines(), "built-in corpus"
    options = {"pre_tokenizer": pre_tokenizer or DEFAULT_PRE_TOKENIZER[algorithm]}
    if algorithm == "wordpiece":
        options["score"] = score
    if not any(line.strip() for line in lines):
        raise UsageError(f"{source} is empty: there is nothing to learn from")
    return tokenize.train(algorithm, lines, vocab_size, **options), source


def _trace_json(trace, source: str) -> dict:
    specials = len(trace.special_tokens)
    return {
        "algorithm": trace.algorithm, "score": trace.score, "pre_tokenizer": trace.pre_tokenizer,
        "continuing_subword_prefix": trace.prefix, "corpus": source, "special_tokens": list(trace.special_tokens),
        "starting_vocabulary": list(trace.vocab[specials:trace.initial_size]),
        "requested_size": trace.requested_size, "vocab_size": len(trace.vocab), "stopped_early": trace.stopped_early,
        "merges": [{"rank": k, "left": m.left, "right": m.right, "token": m.token, "count": m.count,
                    "left_freq": m.left_freq, "right_freq": m.right_freq,
                    "score": str(m.score), "score_value": float(m.score), "replaced": m.replaced,
                    "vocab_size": m.vocab_size} for k, m in enumerate(trace.merges)],
        "vocab": list(trace.vocab),
    }


def _print_trace(trace, source: str, limit: int | None = None) -> None:
    """The merge table: tokens shown with invisible characters escaped, columns aligned by display width."""
    words = sum(n for _, n in trace.word_counts)
    by_score = trace.score == "likelihood"
    where = "the built-in corpus" if source == "built-in corpus" else source
    click.echo(f"{trace.algorithm} on {where}: {words} words ({len(trace.word_counts)} distinct) "
               f"after the {trace.pre_tokenizer} pre-tokenizer")
    alphabet = " ".join(map(visible, trace.vocab[len(trace.special_tokens):trace.initial_size]))
    click.echo(f"starting vocabulary: {trace.initial_size} tokens")
    click.echo(textwrap.fill(alphabet, width=100, initial_indent="  ", subsequent_indent="  ",
                             break_long_words=False, break_on_hyphens=False))
    if by_score:
        click.echo("each merge takes the pair with the highest score = count / (freq(a) · freq(b))")
        click.echo(f"{'#':>4}  {'pair':<24} {'count':>6} {'freq(a)':>8} {'freq(b)':>8} {'score':>10}  vocab")
    else:
        click.echo("each merge takes the most frequent pair of neighbouring tokens")
        click.echo(f"{'#':>4}  {'pair':<24} {'count':>6}  vocab")
    shown = trace.merges if limit is None else trace.merges[:limit]
    for k, m in enumerate(shown, 1):
        pair = _pad(f"{visible(m.left)} + {visible(m.right)} → {visible(m.token)}", 24)
        if by_score:
            click.echo(f"{k:>4}  {pair} {m.count:>6} {m.left_freq:>8} {m.right_freq:>8} {float(m.score):>10.4g}  "
                       f"{m.vocab_size}")
        else:
            click.echo(f"{k:>4}  {pair} {m.count:>6}  {m.vocab_size}")
    if len(shown) < len(trace.merges):
        click.echo(f"   … {len(trace.merges) - len(shown)} more merges (--limit {limit} shows the first {limit})")
    click.echo(f"vocabulary: {len(trace.vocab)} tokens after {len(trace.merges)} merges")
    if trace.stopped_early:
        click.echo(f"note: no pair was left to merge, so training stopped below the requested {trace.requested_size}")


#: Unicode categories printed as ``<U+XXXX>``: controls, format characters, separators (no-break space…),
#: combining marks and variation selectors (they would join the character before them), unassigned.
_ESCAPED = ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me", "Mc")


def visible(token: str) -> str:
    """``token`` with every invisible or combining character written ``<U+00A0>``."""
    return "".join(f"<U+{ord(c):04X}>" if unicodedata.category(c) in _ESCAPED else c for c in token)


def width(text: str) -> int:
    """Terminal columns of ``text``: two for wide and full-width (East Asian) characters, one otherwise."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))
