"""Perturbed prompts for attractor-state experiments: every prompt gets a
forced prefix that pushes its generation off course (see
:func:`diversity.attractor_strength`).

Three documented kinds, all built from the unperturbed completions
(``{prompt id: [completions]}``) and cut in the library's word tokens
(:class:`diversity.text.tokenize.Tokenizer`, ``unicode-v2`` by default; a
cut keeps the original text up to the n-th token):

``prefix``
    The first ``size`` tokens (fewer if it has fewer) of a completion of *another* prompt: prompts
    are taken in sorted id order and prompt i borrows from prompt i + 1
    (cyclically), its first non-blank completion in sample order.
``random-token``
    The first ``position`` tokens of the prompt's own first non-blank
    completion, then ``size`` words drawn uniformly (seeded by the prompt
    id) from the word types of the *other* prompts' completions that do not
    occur in this prompt's completions.
``off-sentence``
    A fixed sentence that belongs to no prompt (``sentence``).

The perturbed prompt keeps the prompt's id (the rows record the prefix), so
unperturbed and perturbed sample files are matched by id.
"""

from __future__ import annotations

import random
from typing import Mapping, Sequence

from ..text.tokenize import get_tokenizer
from .config import Prompt, prompt_seed

__all__ = ["KINDS", "OFF_SENTENCE", "perturbed_prompts"]

KINDS = ("prefix", "random-token", "off-sentence")
OFF_SENTENCE = "The committee postponed its vote on the harbour bridge until the spring."


def _first(texts: Sequence[str], pid: str) -> str:
    for t in texts:
        if t.strip():
            return t
    raise ValueError(f"prompt {pid!r} has no non-blank unperturbed completion to build a perturbation from")


def perturbed_prompts(prompts: Sequence[Prompt], completions: Mapping[str, Sequence[str]], kind: str, *,
                      size: int = 8, position: int = 8, sentence: str = OFF_SENTENCE, lead: str = "",
                      tokenizer: str = "unicode", seed: int = 0) -> list[Prompt]:
    """The prompts with a perturbing forced ``prefix`` of one of :data:`KINDS`.

    Parameters
    ----------
    prompts : sequence of Prompt
        The unperturbed prompts (unique ids, no prefix).
    completions : mapping of prompt id to completions
        Their unperturbed completions, in sample order.
    kind : {"prefix", "random-token", "off-sentence"}
    size : int
        Tokens borrowed (``prefix``) or injected words (``random-token``).
    position : int
        ``random-token``: own tokens kept before the injection.
    sentence : str
        ``off-sentence``: the sentence forced.
    lead : str
        Put before every prefix (``" "`` after a base template that ends in
        ``Answer:``); a borrowed text's own leading spaces are removed first.
    tokenizer : str
        Word tokenizer for the cuts.
    seed : int
        ``random-token``: the draws (per prompt: ``prompt_seed(seed, id)``).

    Returns
    -------
    list of Prompt
        Same ids, texts and tasks, in the order given, with ``prefix`` set.

    Examples
    --------
    >>> ps = [Prompt("a", "Tell a story."), Prompt("b", "Describe a city.")]
    >>> done = {"a": ["Once upon a time there was a fox."], "b": ["Paris is bright at night."]}
    >>> [p.prefix for p in perturbed_prompts(ps, done, "prefix", size=3, lead=" ")]
    [' Paris is bright', ' Once upon a']
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for name, v in (("size", size), ("position", position)):
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if name == "position" else 1):
            raise ValueError(f"{name} must be an int >= {0 if name == 'position' else 1}, got {v!r}")
    prompts = list(prompts)
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        raise ValueError("perturbed_prompts: prompt ids must be unique")
    missing = [i for i in ids if i not in completions]
    if missing:
        raise ValueError(f"perturbed_prompts: no unperturbed completions for prompt {missing[0]!r}")
    if kind in ("prefix", "random-token") and len(prompts) < 2:
        raise ValueError(f"kind={kind!r} borrows from other prompts: it needs at least 2 prompts")
    tok = get_tokenizer(tokenizer)
    order = sorted(ids)
    out = []
    for p in prompts:
        if p.prefix:
            raise ValueError(f"prompt {p.id!r} already has a forced prefix")
        if kind == "off-sentence":
            text = sentence.strip()
        elif kind == "prefix":
            other = order[(order.index(p.id) + 1) % len(order)]
            text = tok.truncate(_first(completions[other], other).lstrip(), size)
        else:
            own = tok.truncate(_first(completions[p.id], p.id).lstrip(), position).rstrip()
            mine = {w for t in completions[p.id] for w in tok(t)}
            pool = sorted({w for q in order if q != p.id for t in completions[q] for w in tok(t)
                           if w.isalpha()} - mine)
            if not pool:
                raise ValueError(f"kind='random-token': the other prompts' completions have no word that prompt "
                                 f"{p.id!r}'s lack")
            rng = random.Random(prompt_seed(seed, p.id))
            words = [rng.choice(pool) for _ in range(size)]
            text = (own + " " if own else "") + " ".join(words)
        out.append(Prompt(p.id, p.text, p.task, lead + text))
    return out
