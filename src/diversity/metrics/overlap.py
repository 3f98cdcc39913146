"""Self-BLEU and homogenization: n-gram and subsequence overlap between the
completions of a set. Lower self-BLEU / homogenization means more diverse."""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np

from ..core.corpus import Corpus
from ..core.data import memory_limit
from ..core.errors import MemoryLimitError
from ..core.evaluate import evaluate
from ..core.metric import Computed, Metric
from ..core.options import Options, with_options
from ..core.params import Choice, Floats, Int, Optional, Param
from ..core.registry import register
from ..core.result import DiversityResult
from ..stats.seeding import key_rng, text_order
from ._pairwise import all_pairs, pairwise_bleu, pairwise_rouge_l, sample_pairs
from ._selfbleu import SMOOTHINGS, self_bleu_per_text

__all__ = ["SelfBLEU", "Homogenization", "self_bleu", "homogenization"]

_SMOOTHING = Param("smoothing", Choice(SMOOTHINGS), "method1",
                   "nltk smoothing: ``none`` (method0), ``method1`` or ``exp`` (method3); recorded as ``smooth:``.")
_BYTES_PER_PAIR = 40  # pair indices, similarities and per-pair temporaries


def _weights_field(w: np.ndarray) -> str:
    return "uniform" if np.all(w == w[0]) and np.isclose(w.sum(), 1.0) else ",".join(f"{x:g}" for x in w)


@register
class SelfBLEU(Metric):
    """Self-BLEU (Zhu et al. 2018) against the other completions; see :func:`self_bleu`."""

    name, func = "self-bleu", "self_bleu"
    params = (Param("max_n", Int(1), 4, "Highest n-gram order (``n:``)."),
              Param("weights", Optional(Floats()), None, "One weight per order; default uniform (``w:uniform``)."),
              _SMOOTHING)
    uses_tokens = True
    per_completion = True
    sorts_ngrams = True  # computed first: its sort of the n-grams also gives distinct-n and entropy
    higher_is_more_diverse = False
    references = ("zhu2018texygen", "papineni2002bleu")
    length_sensitive = True  # longer references share more n-grams
    undefined_reason = "a prompt needs at least 2 completions (each is scored against the others)"

    def validate(self) -> None:
        if self.weights is not None and len(self.weights) != self.max_n:
            from ..core.errors import InvalidParameterError

            raise InvalidParameterError(
                f"The 'weights' parameter of self_bleu must be {self.max_n} finite non-negative numbers (one per "
                f"n-gram order up to max_n={self.max_n}). Got {self.weights!r} instead.")

    @property
    def weight_array(self) -> np.ndarray:
        return np.full(self.max_n, 1.0 / self.max_n) if self.weights is None else np.array(self.weights)

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("n", self.max_n), ("w", _weights_field(self.weight_array)), ("smooth", self.smoothing),
                ("ref", "others")]

    def compute(self, corpus: Corpus) -> Computed:
        per_text = corpus.memo(("self-bleu", self.max_n, tuple(self.weight_array), self.smoothing),
                               lambda: self_bleu_per_text(corpus.tokens, corpus.group_of_item, self.weight_array,
                                                          self.smoothing, runs=corpus.ngram_runs))
        per_group = [per_text[corpus.group_slice(g)] for g in range(corpus.n_groups)]
        return Computed(corpus.group_mean(per_text), {"per_completion": per_group})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        parts = extras.get("per_completion", [])
        return {"per_completion": tuple(float(x) for p in parts for x in p)}


@register
class Homogenization(Metric):
    """Mean pairwise similarity (Padmakumar & He 2023); see :func:`homogenization`."""

    name, func = "homogenization-{measure}", "homogenization"
    params = (Param("measure", Choice(("rouge-l", "bleu")), "rouge-l", "Pairwise similarity.", in_name=True),
              Param("max_pairs", Optional(Int(1)), None, "Pairs sampled per prompt; ``None`` = all pairs."),
              Param("pair_seed", Int(0), 0, "Seed of the pair sample (with the prompt key)."),
              Param("max_n", Int(1), 4, "BLEU's highest n-gram order (``measure='bleu'``)."),
              _SMOOTHING)
    uses_tokens = True
    higher_is_more_diverse = False
    references = ("padmakumar2024homogenization", "lin2004rouge")
    length_sensitive = True  # pairwise overlap moves with the texts' lengths
    undefined_reason = "a prompt needs at least 2 completions to form a pair"

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        f: list[tuple[str, Any]] = []
        if self.measure == "bleu":
            f += [("n", self.max_n), ("smooth", self.smoothing)]
        sampled = self.max_pairs is not None and any(k * (k - 1) // 2 > self.max_pairs for k in ctx.sizes)
        f.append(("pairs", f"sample-{self.max_pairs}-seed{self.pair_seed}" if sampled else "all"))
        return f

    def compute(self, corpus: Corpus) -> Computed:
        """All pairs of every group scored in one batched pass over structures built once per corpus
        (time linear in the number of prompts), then averaged per group."""
        tt = corpus.tokens
        weights = np.full(self.max_n, 1.0 / self.max_n)
        self._check_memory(corpus.sizes)
        firsts, seconds, owners = [], [], []
        for g, k in enumerate(corpus.sizes.tolist()):
            if k < 2:
                continue
            start = int(corpus.offsets[g])
            n_pairs = k * (k - 1) // 2
            if self.max_pairs is not None and n_pairs > self.max_pairs:
                # pairs drawn over the completions in text order, from a generator seeded by
                # (pair_seed, prompt key): the same pairs whatever the order of prompts or completions
                order = text_order(corpus.group_texts(g))
                i, j = sample_pairs(k, self.max_pairs, key_rng(self.pair_seed, corpus.keys[g], "pairs"))
                i, j = order[i], order[j]
            else:
                i, j = all_pairs(k)
            firsts.append(i + start)
            seconds.append(j + start)
            owners.append(np.full(len(i), g, dtype=np.int64))
        out = np.full(corpus.n_groups, np.nan)
        if not firsts:
            return Computed(out)
        i, j, owner = np.concatenate(firsts), np.concatenate(seconds), np.concatenate(owners)
        sims = pairwise_rouge_l(tt, i, j, owner) if self.measure == "rouge-l" else \
            pairwise_bleu(tt, i, j, weights, self.smoothing)
        total = np.bincount(owner, weights=sims, minlength=corpus.n_groups)
        count = np.bincount(owner, minlength=corpus.n_groups)
        out[count > 0] = total[count > 0] / count[count > 0]
        return Computed(out)

    def _check_memory(self, sizes: np.ndarray) -> None:
        k = int(sizes.max()) if len(sizes) else 0
        n_pairs = k * (k - 1) // 2 if self.max_pairs is None else min(k * (k - 1) // 2, self.max_pairs)
        need = n_pairs * _BYTES_PER_PAIR
        if need > memory_limit():
            raise MemoryLimitError(
                f"homogenization over all {n_pairs:,} pairs of a set of {k:,} completions needs about "
                f"{need / 2**30:.1f} GiB (limit {memory_limit() / 2**30:.1f} GiB, DIVERSITY_MEMORY_LIMIT); "
                "pass max_pairs= (e.g. max_pairs=100_000) to score a uniform sample of pairs, recorded in "
                "the signature.")


@with_options("text", "aggregate", "ci")
def self_bleu(samples: Any, max_n: int = 4, *, weights: Sequence[float] | None = None,
              smoothing: Literal["none", "method1", "exp"] = "method1", options: Options) -> DiversityResult:
    r"""Self-BLEU: the mean BLEU of each completion against all the others of its set.

    .. math::

        \mathrm{SelfBLEU}(S) = \frac{1}{|S|}\sum_{s \in S} \mathrm{BLEU}(s;\ S \setminus \{s\})

    BLEU is exactly nltk's ``sentence_bleu(references=others, hypothesis=s,
    weights, smoothing_function)``: clipped n-gram precisions for n = 1..max_n
    (matches of an n-gram clipped to its largest count in any one reference),
    geometric mean with ``weights`` (uniform by default), times the brevity
    penalty :math:`e^{1 - r/c}` for :math:`c \le r` with :math:`r` the
    reference length closest to :math:`c` (ties to the shorter); 0 when no
    unigram matches. Tests pin every per-completion value to nltk within 1e-9.

    The set never contains the hypothesis itself (Texygen's implementation
    does, which makes every score 1.0 for exact matching) and is not capped
    or subsampled: the computation is exact for any size, in time linear in
    the number of n-grams (up to one sort per order), not quadratic in |S|.

    Lower is more diverse; range [0, 1]. Grows with |S| (more references,
    more matches): compare at equal k.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
        Each prompt's completions are scored against the others of the same
        prompt (``aggregate="pooled"``: against all others).
    max_n : int, default 4
        Highest n-gram order (``n:``).
    weights : sequence of float or None
        One weight per order; default uniform (``w:uniform``).
    smoothing : {"none", "method1", "exp"}, default "method1"
        nltk's ``SmoothingFunction().method0`` (zero precisions become the
        smallest float), ``method1`` (zero precisions become 0.1 / count) or
        ``method3`` (``"exp"``: the NIST / mteval-v13a / sacrebleu exponential
        smoothing, 1 / (2^k · count) for the k-th zero precision). ``smooth:``.
    <<SHARED>>

    Returns
    -------
    DiversityResult
        ``details["per_completion"]`` holds each completion's BLEU.
        NaN (with a warning) for a prompt with a single completion.

    References
    ----------
    Y. Zhu, S. Lu, L. Zheng, J. Guo, W. Zhang, J. Wang, Y. Yu. Texygen: A
    Benchmarking Platform for Text Generation Models. SIGIR 2018.
    arXiv:1802.01886. K. Papineni, S. Roukos, T. Ward, W.-J. Zhu. BLEU: a
    Method for Automatic Evaluation of Machine Translation. ACL 2002.

    Examples
    --------
    >>> r = self_bleu(["the cat sat on the mat", "the cat sat on the mat", "a dog ran"], max_n=2)
    >>> [round(x, 4) for x in r.details["per_completion"]]
    [1.0, 1.0, 0.0]
    """
    return evaluate([SelfBLEU(max_n, weights=weights, smoothing=smoothing)], options, samples=samples)[0]


@with_options("text", "aggregate", "ci")
def homogenization(samples: Any, measure: Literal["rouge-l", "bleu"] = "rouge-l", *, max_pairs: int | None = None,
                   pair_seed: int = 0, max_n: int = 4, smoothing: Literal["none", "method1", "exp"] = "method1",
                   options: Options) -> DiversityResult:
    r"""Homogenization: the mean pairwise similarity of the completions of a set.

    .. math::

        \mathrm{Hom}(S) = \binom{|S|}{2}^{-1} \sum_{i < j} \mathrm{sim}(s_i, s_j)

    ``measure="rouge-l"``: ROUGE-L F1 (:math:`2\,\mathrm{LCS}/(|s_i|+|s_j|)`,
    the ``fmeasure`` of the rouge_score package with our tokenizer), 0 when
    either text is empty. ``measure="bleu"``: the mean of
    :math:`\mathrm{BLEU}(s_i; \{s_j\})` and :math:`\mathrm{BLEU}(s_j; \{s_i\})`
    (nltk ``sentence_bleu`` with one reference, ``max_n`` and ``smoothing`` as
    in :func:`self_bleu`), i.e. the mean over ordered pairs.

    Identical texts score 1 and texts with no token in common score 0. (The
    ``diversity`` PyPI package returns its maximum, 1.0, when every pair
    scores 0, and divides its BLEU variant by an extra factor |S| - 1.)

    Lower is more diverse; range [0, 1]. ROUGE-L is exact for all pairs by
    default (bit-parallel LCS, pairs with no shared token skipped exactly);
    ``max_pairs`` draws that many distinct pairs per prompt uniformly without
    replacement for very large sets, recorded as ``pairs:sample-<m>-seed<s>``
    instead of ``pairs:all``. The pairs are drawn over the completions in text
    order from a generator seeded by ``pair_seed`` and the prompt key, so the
    same prompts and completions give the same pairs in any input order.
    Completions that are empty or whitespace only are left out (a pair with a
    non-answer is not "diverse"). All pairs of a very large set are refused
    with a :class:`~diversity.MemoryLimitError` that gives the size and
    suggests ``max_pairs``, before anything is allocated.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    measure : {"rouge-l", "bleu"}, default "rouge-l"
    max_pairs : int or None
        Pair subsampling per prompt; ``None`` = all pairs.
    pair_seed : int, default 0
    max_n, smoothing
        BLEU settings (``measure="bleu"`` only).
    <<SHARED>>

    Returns
    -------
    DiversityResult
        NaN (with a warning) for a prompt with a single completion.

    References
    ----------
    V. Padmakumar, H. He. Does Writing with Language Models Reduce Content
    Diversity? ICLR 2024. arXiv:2309.05196. C.-Y. Lin. ROUGE: A Package for
    Automatic Evaluation of Summaries. 2004.

    Examples
    --------
    >>> homogenization(["a b c d", "a b c d", "w x y z"]).value  # pairs: 1, 0, 0
    0.3333333333333333
    """
    metric = Homogenization(measure, max_pairs=max_pairs, pair_seed=pair_seed, max_n=max_n, smoothing=smoothing)
    return evaluate([metric], options, samples=samples)[0]
