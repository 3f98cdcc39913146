"""Diversity that counts only good answers: effective semantic diversity
(Shypula et al. 2025) and NoveltyBench's utility-weighted distinct answers
(Zhang et al. 2025), given per-completion quality scores from any source
(``quality=``: a reward model, a judge, a column of the sample file).

Both partition a prompt's completions into semantic equivalence classes. Here
two completions are equivalent when the cosine distance of their embeddings
is below ``threshold`` (all-MiniLM-L6-v2 by default), or, when both have at
most five words, when they share at least half of the longer one's words
(NoveltyBench's short-answer rule). NoveltyBench decides equivalence with a
fine-tuned DeBERTa classifier instead; ours is recorded as ``eq:cos<t>``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np

from ..core.corpus import Corpus
from ..core.errors import InvalidParameterError
from ..core.evaluate import evaluate
from ..core.metric import Computed
from ..core.options import Options, with_options
from ..core.params import Choice, Int, Optional, Param, Real
from ..core.registry import register
from ..core.result import DiversityResult
from ..quality.refusal import DEFAULT_DETECTOR, classify_refusals
from ._geometry import cluster_labels
from .semantic import VectorMetric

__all__ = ["EffectiveSemanticDiversity", "NoveltyUtility", "effective_semantic_diversity", "novelty_utility",
           "greedy_classes"]

_THRESHOLD = Param("threshold", Real(0.0, 2.0, low_open=True), 0.25, "Cosine distance below which two completions "
                   "are one semantic class.")


def _short_equivalent(a: str, b: str, max_words: int = 5) -> bool | None:
    """NoveltyBench's rule for answers of at most ``max_words`` words (None when it does not apply, or
    when ``max_words`` is 0: the rule is off): equivalent when they share at least half of the longer
    answer's distinct lowercased words."""
    wa, wb = a.strip().lower().split(), b.strip().lower().split()
    longest = max(len(wa), len(wb))
    if longest > max_words:
        return None
    return 2 * len(set(wa) & set(wb)) >= longest


def greedy_classes(texts: list[str], unit: np.ndarray | None, threshold: float, *, short_words: int = 5,
                   equivalent: Callable[[str, str], bool] | None = None) -> list[int]:
    """NoveltyBench's partition: in generation order, each completion joins the first class whose
    first member it is equivalent to, else starts a new class. Equivalence: the short-answer rule
    (answers of at most ``short_words`` words; 0: off), else ``equivalent(first_member, text)`` when
    given, else cosine distance of the unit embeddings below ``threshold``."""
    firsts: list[int] = []
    labels = []
    for j, t in enumerate(texts):
        for c, i in enumerate(firsts):
            short = _short_equivalent(texts[i], t, short_words)
            if short is not None:
                same = short
            elif equivalent is not None:
                same = _as_bool(equivalent(texts[i], t))
            else:
                same = (1.0 - float(unit[i] @ unit[j])) < threshold
            if same:
                labels.append(c)
                break
        else:
            firsts.append(j)
            labels.append(len(firsts) - 1)
    return labels


def _as_bool(value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"The 'equivalence' function of novelty_utility must return a bool. Got "
                                    f"{value!r} instead.")
    return bool(value)


class _Function:  # constraint: None or a function (a, b) -> bool
    def accepts(self, value: Any) -> bool:
        return value is None or callable(value)

    def describe(self) -> str:
        return "None or a function (first_member: str, text: str) -> bool"

    def normalize(self, value: Any) -> Any:
        return value

    def format(self, value: Any) -> str:
        return f"user:{getattr(value, '__qualname__', type(value).__name__)}"

    def parse(self, text: str) -> Any:
        return text  # not callable: refused with the uniform message (a function cannot be given in a spec)


class _Partitions:  # constraint: None, one sequence of class labels, or a mapping prompt -> labels
    def accepts(self, value: Any) -> bool:
        if value is None:
            return True
        seqs = value.values() if isinstance(value, Mapping) else [value]
        return all(isinstance(s, Sequence) and not isinstance(s, str) and
                   all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in s) for s in seqs)

    def describe(self) -> str:
        return "None, a list of class labels (ints), or a mapping prompt -> list of class labels"

    def normalize(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, Mapping):
            return {k: tuple(int(x) for x in v) for k, v in value.items()}
        return tuple(int(x) for x in value)

    def format(self, value: Any) -> str:
        return "given"

    def parse(self, text: str) -> Any:
        return text


@register
class EffectiveSemanticDiversity(VectorMetric):
    """Diversity among completions that pass a quality bar; see :func:`effective_semantic_diversity`."""

    name, func = "effective-semantic-diversity", "effective_semantic_diversity"
    params = (Param("variant", Choice(("pairs", "classes")), "pairs", "``pairs``: probability that two completions "
                    "are both valid and different; ``classes``: valid classes per completion."),
              Param("min_score", Optional(Real()), None, "A completion is valid when its quality score is at least "
                    "this; None: when it is not a refusal (rules-v1)."),
              _THRESHOLD)
    references = ("shypula2025evaluating",)

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        valid = "no-refusal" if self.min_score is None else f"score>={self.min_score:g}"
        det = [("det", DEFAULT_DETECTOR)] if self.min_score is None else []
        return [("var", self.variant), ("valid", valid), *det, ("eq", f"cos<{self.threshold:g}"), ("link", "average"),
                ("cluster", "valid")]

    def compute(self, corpus: Corpus) -> Computed:
        if self.min_score is not None and corpus.scores is None:
            raise InvalidParameterError(f"{self.spec} needs a quality score per completion: pass quality= to score() "
                                        "or compare(), or drop min_score to count non-refusals as valid.")
        valid = corpus.scores >= self.min_score if self.min_score is not None else \
            np.array([lab != "refusal" for lab in classify_refusals(corpus.texts)], dtype=bool)
        out = []
        for g in range(corpus.n_groups):
            sl = corpus.group_slice(g)
            v = valid[sl]
            k = int(corpus.sizes[g] + corpus.blank_counts[g])  # empty completions are invalid outputs
            # only the valid completions are clustered: an invalid one must not merge two valid classes
            if v.sum() >= 2:
                classes = np.bincount(cluster_labels(corpus.unit_embeddings[sl][v], self.threshold, "average"))
            else:
                classes = np.ones(int(v.sum()), dtype=np.int64)
            if self.variant == "classes":
                out.append(float(np.count_nonzero(classes)) / k)
            else:
                nv = int(v.sum())
                different = nv * (nv - 1) // 2 - int(sum(c * (c - 1) // 2 for c in classes))
                out.append(different / (k * (k - 1) / 2) if k >= 2 else math.nan)
        return Computed(np.array(out))


@register
class NoveltyUtility(VectorMetric):
    """NoveltyBench's patience-weighted utility of distinct answers; see :func:`novelty_utility`."""

    name, func = "novelty-utility", "novelty_utility"
    params = (Param("patience", Real(0.0, 1.0, low_open=True), 0.8, "Weight p^(i-1) of the i-th completion."),
              _THRESHOLD,
              Param("short_words", Int(0, None), 5, "NoveltyBench's short-answer rule applies to answers of at "
                    "most this many words (0: off); recorded as ``short:``."),
              Param("equivalence", _Function(), None, "A function (first_member, text) -> bool deciding "
                    "equivalence instead of embeddings; recorded as ``eq:user:<name>``."),
              Param("partitions", _Partitions(), None, "Class labels given per completion (e.g. NoveltyBench's "
                    "shipped partitions), per prompt; recorded as ``eq:given``."))
    references = ("zhang2025noveltybench",)
    order_dependent = True  # defined over the sequence of samples

    def validate(self) -> None:
        if self.equivalence is not None and self.partitions is not None:
            raise InvalidParameterError("novelty_utility takes an 'equivalence' function or 'partitions', not both.")
        if self.equivalence is not None or self.partitions is not None:
            self.input = "texts"  # no embeddings needed  # type: ignore[misc]

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        if self.partitions is not None:
            eq: list[tuple[str, Any]] = [("eq", "given")]
        else:
            what = _Function().format(self.equivalence) if self.equivalence is not None else f"cos<{self.threshold:g}"
            eq = [("eq", what), ("short", str(self.short_words) if self.short_words else "off")]
        return [("patience", f"{self.patience:g}"), *eq, ("order", "given")]

    def _given(self, corpus: Corpus, g: int, n: int) -> tuple[int, ...]:
        parts = self.partitions
        if isinstance(parts, Mapping):
            key = corpus.keys[g]
            if key not in parts:
                raise InvalidParameterError(f"The 'partitions' of novelty_utility have no entry for prompt {key!r}.")
            labels = parts[key]
        elif corpus.n_groups == 1:
            labels = parts
        else:
            raise InvalidParameterError("The 'partitions' of novelty_utility must be a mapping prompt -> labels "
                                        f"when there are several prompts ({corpus.n_groups}).")
        if len(labels) != n:
            raise InvalidParameterError(f"The 'partitions' of novelty_utility have {len(labels)} labels for prompt "
                                        f"{corpus.keys[g]!r}, which has {n} non-blank completions.")
        return labels

    def compute(self, corpus: Corpus) -> Computed:
        if corpus.scores is None:
            raise InvalidParameterError(f"{self.spec} needs a quality score per completion (NoveltyBench maps a "
                                        "reward model to 1-10): pass quality= to score() or compare().")
        out, distinct = [], []
        for g in range(corpus.n_groups):
            sl = corpus.group_slice(g)
            texts, scores = corpus.texts[sl], corpus.scores[sl]
            if self.partitions is not None:
                labels = self._given(corpus, g, len(texts))
            else:
                unit = corpus.unit_embeddings[sl] if self.equivalence is None else None
                labels = greedy_classes(texts, unit, self.threshold, short_words=self.short_words,
                                        equivalent=self.equivalence)
            seen: set[int] = set()
            gains = []
            for lab, s in zip(labels, scores):
                gains.append(float(s) if lab not in seen else 0.0)
                seen.add(lab)
            w = self.patience ** np.arange(len(gains))
            out.append(float(np.dot(w, gains) / w.sum()))
            distinct.append(len(seen))
        return Computed(np.array(out), {"distinct": distinct})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        d = extras.get("distinct", [])
        return {"mean_distinct": float(np.mean(d)) if d else math.nan, "distinct": tuple(d)}


@with_options("aggregate", "ci")
def effective_semantic_diversity(samples: Any = None, *, quality: Any = None, embeddings: Any = None,
                                 embedder: Any = None, variant: Literal["pairs", "classes"] = "pairs",
                                 min_score: float | None = None, threshold: float = 0.25,
                                 options: Options) -> DiversityResult:
    r"""Effective semantic diversity: diversity among the completions that pass a quality bar.

    A completion is *valid* when its quality score (``quality=``) is at least
    ``min_score`` (without ``min_score``: when it is not a full refusal, by the
    default ``rules-v2`` detector, recorded as ``det:``; a partial refusal
    answers, so it is valid); empty completions are invalid. The valid
    completions, and only they, are grouped into semantic classes
    (agglomerative clustering, average linkage, cosine distance below
    ``threshold``; ``cluster:valid`` in the signature): an invalid completion
    lying between two valid answers cannot merge their classes, as it could
    in 0.2, where all completions were clustered. With k the number of
    completions of the prompt (valid or not) and :math:`n_c` the valid
    completions in class c:

    - ``variant="pairs"`` (default): the probability that two different
      completions drawn from the k are both valid and in different classes,

      .. math:: \mathrm{ESD}_{pairs} = \Big[\binom{n_v}{2} - \sum_c \binom{n_c}{2}\Big] \Big/ \binom{k}{2},

      which does not grow with k for a fixed distribution of outputs;
    - ``variant="classes"``: the number of classes among valid completions,
      per completion, :math:`|\{c : n_c > 0\}| / k`.

    Invalid completions stay in the denominator: a model that fails more
    often is less effectively diverse, whatever its failures look like.

    Shypula et al. define effective semantic diversity as "diversity among
    outputs that meet quality thresholds": a validity function filters the
    outputs first, and semantic equivalence (for code: execution results) is
    judged among the valid ones only, with invalid outputs still counted in
    the sample size so that failing more often lowers the score. The two
    variants above are this library's exact statement of that framework
    (their formulas could not be checked line by line against the paper's
    code), recorded in the signature (``var:``, ``valid:``, ``eq:``,
    ``cluster:``): cite them as this library's implementation of the idea.

    Higher is more diverse; range [0, 1].

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    quality : mapping prompt -> scores, or callable, optional
        One quality score per completion (a reward model, a judge, a column
        of the sample file).
    embeddings, embedder
        As in :func:`~diversity.mean_pairwise_distance`.
    variant : {"pairs", "classes"}, default "pairs"
    min_score : float or None
    threshold : float, default 0.25
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    A. Shypula, S. Li, B. Zhang, V. Padmakumar, K. Yin, O. Bastani.
    Evaluating the Diversity and Quality of LLM Generated Content. 2025.
    arXiv:2504.12522.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.7, 0.7]])
    >>> effective_semantic_diversity(["a", "b", "c", "d"], embeddings=x, quality=[1, 1, 1, 0], min_score=0.5).value
    0.3333333333333333
    """
    metric = EffectiveSemanticDiversity(variant=variant, min_score=min_score, threshold=threshold)
    return evaluate([metric], options, samples=samples, embeddings=embeddings, embedder=embedder, quality=quality)[0]


@with_options("aggregate", "ci")
def novelty_utility(samples: Any = None, quality: Any = None, *, embeddings: Any = None, embedder: Any = None,
                    patience: float = 0.8, threshold: float = 0.25, short_words: int = 5,
                    equivalence: Callable[[str, str], bool] | None = None, partitions: Any = None,
                    options: Options) -> DiversityResult:
    r"""NoveltyBench's utility: quality of the distinct answers among k samples, patience-weighted.

    The k completions of a prompt, in the order given (the order they were
    sampled), are partitioned greedily: each joins the first class whose
    first member it is equivalent to, else starts a new class. A completion
    that starts a new class earns its quality score :math:`s_i` (NoveltyBench
    maps a reward model to 1-10; any per-completion score works); a repeat
    earns 0. With patience p,

    .. math:: U = \frac{\sum_{i=1}^{k} p^{\,i-1}\, \mathbb{1}[c_i \text{ new}]\, s_i}{\sum_{i=1}^{k} p^{\,i-1}}

    (a user who reads the samples in order and loses interest at rate 1 - p).
    ``details["distinct"]`` is the number of classes per prompt (the count,
    not the largest class index, which one of NoveltyBench's shipped
    summaries reports).

    As in NoveltyBench, the value depends on the order of the completions (it
    is defined over the sequence of samples; ``order:given`` in the
    signature), and blank completions are left out of the sequence.
    NoveltyBench's equivalence is a DeBERTa classifier (threshold 0.102, each
    answer truncated to 128 tokens, the prompt not shown) with a unigram rule
    for answers of at most 5 words (equivalent when they share at least half
    of the longer answer's distinct words). Ours, by default, is embedding
    distance below ``threshold`` with the same short-answer rule (``eq:``,
    ``short:``). Three ways to change it:

    - ``short_words``: the short-answer rule applies to answers of at most
      this many words; 0 turns it off (NoveltyBench's shipped partitions do
      not always follow it);
    - ``equivalence``: a function ``(first_member, text) -> bool`` used
      instead of embeddings (after the short-answer rule, as NoveltyBench
      applies it before its classifier), e.g. a wrapper around NoveltyBench's
      DeBERTa classifier loaded from a local folder; recorded as
      ``eq:user:<function name>``: give it a name that says what it is;
    - ``partitions``: the class labels themselves, one per non-blank
      completion, per prompt (a mapping, or one list for one prompt), e.g.
      the ``partition`` column of NoveltyBench's ``scores.jsonl``; then no
      equivalence is computed and NoveltyBench's utilities are reproduced
      from its ``generation_scores`` (``eq:given``).

    With ``equivalence`` or ``partitions`` no embeddings are needed.

    Higher is better (more distinct, better answers); range [0, max score].

    Parameters
    ----------
    samples : mapping prompt -> sequence of str (in sampling order)
    quality : mapping prompt -> scores, or callable
        One quality score per completion.
    embeddings, embedder
        As in :func:`~diversity.mean_pairwise_distance`.
    patience : float in (0, 1], default 0.8
    threshold : float, default 0.25
    short_words : int >= 0, default 5
    equivalence : callable or None
    partitions : mapping prompt -> list of int, list of int, or None
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    Y. Zhang, H. Diddee, S. Holm, H. Liu, X. Liu, V. Samuel, B. Wang,
    D. Ippolito. NoveltyBench: Evaluating Language Models for Humanlike
    Diversity. 2025. arXiv:2504.05228.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # the second repeats the first
    >>> round(novelty_utility(["one", "one again", "two"], [10, 10, 6], embeddings=x).value, 4)  # (10 + 0.64*6) / 2.44
    5.6721
    >>> novelty_utility(["one", "one again", "two"], [10, 10, 6], partitions=[0, 0, 1]).details["distinct"]
    (2,)
    """
    metric = NoveltyUtility(patience=patience, threshold=threshold, short_words=short_words, equivalence=equivalence,
                            partitions=partitions)
    return evaluate([metric], options, samples=samples, embeddings=embeddings, embedder=embedder, quality=quality)[0]
