"""Named, versioned tokenizers.

Every token-level metric names its tokenizer in the signature as
``tok:<name>-<version>``, e.g. ``tok:unicode-v2``. The version changes
whenever the tokenizer's output could change, so numbers computed with
different versions are never mixed up.

=================  ==============================================================
name               tokens
=================  ==============================================================
``unicode``        (default) the text is NFC-normalised, then split into runs
                   of Unicode word characters and combining marks (categories
                   Mn, Mc, Me: Devanagari vowel signs, Arabic harakat, Thai
                   vowels stay inside their word), keeping inner apostrophes
                   (``don't``, ``l’homme``), and every other non-space
                   character alone (with any marks that follow it): regex
                   ``[\\w\\p{M}]+(?:['’][\\w\\p{M}]+)*|[^\\w\\s\\p{M}]\\p{M}*``.
                   No downloaded data. (``unicode-v1`` split words at
                   combining marks and did not normalise.)
``whitespace``     NFC, then ``str.split()``: maximal runs of non-whitespace.
``nltk-treebank``  nltk's ``TreebankWordTokenizer`` (Penn Treebank conventions;
                   needs no punkt download). Version = nltk's version.
``hf:<path>``      a Hugging Face tokenizer loaded from a local folder (extra
                   ``hf``); subword tokens from ``tokenizer.tokenize``.
                   Version = a hash of its vocabulary.
=================  ==============================================================

NFC normalisation (Unicode canonical composition) is part of the ``unicode``
and ``whitespace`` tokenizers since their ``v2``: a word typed with
precomposed letters and the same word in decomposed form (NFD, as macOS file
names and some scrapers produce) are one type. The ``nltk-treebank`` and
``hf:`` tokenizers see the text as given.

Lowercasing is not part of a tokenizer: metrics take ``lowercase=`` and record
it as ``lc:yes|no``. Scripts without spaces (Chinese, Japanese, Thai) come out
of ``unicode`` and ``whitespace`` as long runs; use an ``hf:`` tokenizer there.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from functools import lru_cache
from typing import Callable, Sequence, Union

from ..core.errors import InvalidParameterError

__all__ = ["Tokenizer", "get_tokenizer", "available_tokenizers", "register_tokenizer"]


class Tokenizer:
    """A named, versioned function ``str -> list[str]``.

    Parameters
    ----------
    name : str
        Registry name, recorded in signatures.
    version : str
        Changes whenever the output for some input could change.
    func : callable
        ``str -> list[str]``.
    vocab_size : int or None
        Size of the tokenizer's fixed vocabulary, if it has one (``hf:``
        tokenizers do); used as the default ``vocab_size`` of EAD.
    spans : callable or None
        ``str -> list[(start, end)]``: where each token lies in the text (in
        the text the tokenizer reads, after its own normalisation); used to
        cut a text after its n-th token without re-joining tokens. Default:
        each token is looked up in the text after the previous one.
    joined : callable or None
        ``texts -> (tokens, separator) or None``: the tokens of all texts in
        one flat list, one ``separator`` token between consecutive texts (a
        token no text yields), from one pass over the texts joined; None when
        that is not possible for these texts. See :meth:`tokenize_joined`.
    """

    def __init__(self, name: str, version: str, func: Callable[[str], list[str]],
                 vocab_size: int | None = None,
                 spans: Callable[[str], list[tuple[int, int]]] | None = None,
                 joined: Callable[[Sequence[str]], tuple[list[str], str] | None] | None = None) -> None:
        self.name = name
        self.version = version
        self._func = func
        self.vocab_size = vocab_size
        self._spans = spans
        self._joined = joined
        self.source: str | None = None  # "hf:<path>" for tokenizers loaded from a folder

    @property
    def spec(self) -> str:
        """``<name>-<version>`` as written in signatures."""
        return f"{self.name}-{self.version}"

    def __call__(self, text: str) -> list[str]:
        return self._func(text)

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        f = self._func
        return [f(t) for t in texts]

    def tokenize_joined(self, texts: Sequence[str]) -> tuple[list[str], str] | None:
        """All tokens of ``texts`` in one list with a separator token between consecutive texts
        (``len(texts) - 1`` of them), the same tokens as :meth:`tokenize_many` gives text by text;
        None where this tokenizer has no such pass (then use :meth:`tokenize_many`)."""
        return None if self._joined is None else self._joined(texts)

    def __reduce__(self):
        # built-in and hf: tokenizers are rebuilt from their name (states travel to other processes)
        if self.name in _REGISTRY or self.source is not None:
            return (get_tokenizer, (self.source or self.name,))
        return super().__reduce__()

    def truncate(self, text: str, n_tokens: int) -> str:
        """``text`` up to the end of its ``n_tokens``-th token (the text itself
        when it has no more tokens): a prefix of the text, never re-joined tokens.

        Texts that the tokenizer NFC-normalises are cut in their NFC form.
        """
        if self._spans is not None:
            source, spans = (_nfc(text) if self.name in ("unicode", "whitespace") else text), self._spans(text)
        else:
            source, spans = text, _find_spans(text, self._func(text), self.spec)
        if len(spans) <= n_tokens:
            return source
        return source[:spans[n_tokens - 1][1]] if n_tokens > 0 else ""

    def __repr__(self) -> str:
        return f"Tokenizer({self.spec!r})"


def _find_spans(text: str, tokens: list[str], spec: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for t in tokens:
        i = text.find(t, pos)
        if i < 0:
            raise ValueError(f"the tokenizer {spec!r} does not return substrings of the text (token {t!r}), so a "
                             "text cannot be cut after its n-th token; give the Tokenizer a spans= function.")
        spans.append((i, i + len(t)))
        pos = i + len(t)
    return spans


@lru_cache(maxsize=1)
def _mark_class() -> str:
    """A regex character class body with every combining mark (categories Mn,
    Mc, Me) of this Python's Unicode database, as code point ranges."""
    ranges: list[list[int]] = []
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] == "M":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


@lru_cache(maxsize=1)
def _unicode_re() -> "re.Pattern[str]":
    m = _mark_class()
    word = f"[\\w{m}]++"
    # possessive quantifiers: the same tokens as the documented pattern, ~20% faster
    return re.compile(f"{word}(?:['’]{word})*+|[^\\w\\s{m}][{m}]*+")


def _nfc(text: str) -> str:
    # is_normalized is a fast check; most texts are already NFC
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def unicode_tokens(text: str) -> list[str]:
    """The ``unicode-v2`` tokens of one text."""
    return _unicode_re().findall(_nfc(text))


def unicode_token_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the ``unicode-v2`` tokens in the NFC form of ``text``."""
    return [m.span() for m in _unicode_re().finditer(_nfc(text))]


# ASCII text has no combining marks and is already NFC: the same tokens come from the plain pattern, faster;
# on ASCII, \w is [A-Za-z0-9_] (spelt out: ~25% faster than the Unicode category test)
_ASCII_RE = re.compile(r"[A-Za-z0-9_]++(?:'[A-Za-z0-9_]++)*+|[^A-Za-z0-9_\s]")


def _unicode() -> Tokenizer:
    ascii_findall, nfc = _ASCII_RE.findall, _nfc

    def tokens(text: str) -> list[str]:
        # the full pattern (its mark class takes a second to build) only once a non-ASCII text comes
        return ascii_findall(text) if text.isascii() else _unicode_re().findall(nfc(text))

    return Tokenizer("unicode", "v2", tokens, spans=unicode_token_spans, joined=_unicode_joined)


_SEP = "\x00"  # a token of its own between spaces (a symbol, not \w, \s or a mark)


def _unicode_joined(texts: Sequence[str]) -> tuple[list[str], str] | None:
    """``unicode-v2`` tokens of all texts from one ``findall`` over them joined by " \\x00 ": no
    token holds a space, the pattern has no anchors or look-behind, and each text is NFC-normalised
    on its own first, so the tokens are those of each text in turn with "\\x00" between texts.
    None when some text holds "\\x00" itself."""
    joined = f" {_SEP} ".join(texts)
    if joined.count(_SEP) != max(len(texts) - 1, 0):
        return None
    if joined.isascii():  # no marks and already NFC: the plain pattern gives the same tokens
        return _ASCII_RE.findall(joined), _SEP
    nfc = _nfc
    joined = f" {_SEP} ".join([t if t.isascii() else nfc(t) for t in texts])
    if joined.count(_SEP) != max(len(texts) - 1, 0):  # pragma: no cover - NFC never makes a NUL
        return None
    return _unicode_re().findall(joined), _SEP


def _whitespace() -> Tokenizer:
    return Tokenizer("whitespace", "v2", lambda t: _nfc(t).split(),
                     spans=lambda t: [m.span() for m in re.finditer(r"\S+", _nfc(t))])


def _nltk_treebank() -> Tokenizer:
    import nltk
    from nltk.tokenize import TreebankWordTokenizer

    tb = TreebankWordTokenizer()
    return Tokenizer("nltk-treebank", nltk.__version__, tb.tokenize, spans=lambda t: list(tb.span_tokenize(t)))


def _hf(path: str) -> Tokenizer:
    try:
        from transformers import AutoTokenizer
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The 'hf:' tokenizers need transformers: pip install 'llm-diversity[hf]'"
        ) from e
    try:
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"Could not load a Hugging Face tokenizer from {path!r} without network access: {e}"
        ) from e
    vocab = tok.get_vocab()
    digest = hashlib.sha256(
        "\n".join(f"{t}\t{i}" for t, i in sorted(vocab.items(), key=lambda kv: kv[1])).encode("utf-8")
    ).hexdigest()[:10]
    label = str(path).rstrip("/").split("/")[-1] or str(path)
    spans = None
    if getattr(tok, "is_fast", False):
        def spans(text: str) -> list[tuple[int, int]]:
            return [tuple(o) for o in tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]]
    out = Tokenizer(f"hf:{label}", digest, tok.tokenize, vocab_size=len(tok), spans=spans)
    out.source = f"hf:{path}"
    return out


_REGISTRY: dict[str, Callable[[], Tokenizer]] = {
    "unicode": _unicode,
    "whitespace": _whitespace,
    "nltk-treebank": _nltk_treebank,
}
_CACHE: dict[str, Tokenizer] = {}


def register_tokenizer(name: str, factory: Callable[[], Tokenizer]) -> None:
    """Add a tokenizer factory to the registry under ``name``."""
    if name in _REGISTRY or name.startswith("hf:"):
        raise ValueError(f"a tokenizer named {name!r} is already registered")
    _REGISTRY[name] = factory


def available_tokenizers() -> list[str]:
    """Registered names (plus the ``hf:<path>`` family)."""
    return sorted(_REGISTRY) + ["hf:<path>"]


def get_tokenizer(tokenizer: Union[str, Tokenizer]) -> Tokenizer:
    """Resolve a registry name or ``hf:<path>`` to a :class:`Tokenizer`.

    >>> get_tokenizer("unicode")("Don't panic, it's fine!")
    ["Don't", 'panic', ',', "it's", 'fine', '!']
    """
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    if not isinstance(tokenizer, str):
        raise InvalidParameterError(f"tokenizer must be a name or a Tokenizer, got {type(tokenizer).__name__}.")
    if tokenizer.startswith("hf:"):
        # not cached: the folder's contents may change, and its hash goes into the signature
        return _hf(tokenizer[3:])
    if tokenizer not in _CACHE:
        if tokenizer not in _REGISTRY:
            raise InvalidParameterError(
                f"Unknown tokenizer {tokenizer!r}. Known: {', '.join(available_tokenizers())}."
            )
        _CACHE[tokenizer] = _REGISTRY[tokenizer]()
    return _CACHE[tokenizer]
