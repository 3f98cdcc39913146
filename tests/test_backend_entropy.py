"""The transformers backend records, at sampling time, the full sampling
distribution's entropy and the sampled token's log-probability per position
(what the published branching factor needs); checked against a separate
forward pass of the tiny Llama, with top-p filtering (-inf scores), and fed
to diversity.branching_factor."""

import json
import math

import numpy as np
import pytest

import diversity
from diversity.generation import DecodingConfig, Prompt, sample_to_jsonl

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

PROMPTS = [Prompt("p1", "the cat"), Prompt("p2", "a dog")]


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_recorded_entropy_equals_a_forward_pass(backend, tmp_path):
    cfg = DecodingConfig(k=4, max_new_tokens=6, seed=3, top_logprobs=5)
    rows = _rows(sample_to_jsonl(backend, PROMPTS, tmp_path / "s.jsonl", cfg, progress=False))
    tok, model = backend.tokenizer, backend.model
    vocab = model.config.vocab_size
    checked = 0
    for r in rows:
        assert len(r["entropy"]) == len(r["token_logprobs"]) == len(r["top_logprobs"])
        context = tok(backend.render(r["prompt"], cfg), add_special_tokens=False)["input_ids"]
        gen = tok(r["completion"], add_special_tokens=False)["input_ids"][:len(r["entropy"])]
        if len(gen) < len(r["entropy"]):  # an end-of-sequence token is not in the text: nothing to compare
            continue
        with torch.no_grad():
            logits = model(torch.tensor([context + gen])).logits[0].double()
        logp = torch.log_softmax(logits[len(context) - 1:len(context) - 1 + len(gen)], dim=-1)
        h = -(logp.exp() * logp).sum(dim=-1)
        assert r["entropy"] == pytest.approx(h.tolist(), abs=2e-5)
        assert r["token_logprobs"] == pytest.approx([float(logp[j, t]) for j, t in enumerate(gen)], abs=2e-5)
        # the top-5 columns come from the same distribution: their part of the entropy is at most all of it
        for hj, top in zip(r["entropy"], r["top_logprobs"]):
            assert 0 <= -sum(math.exp(v) * v for v in top) <= hj + 1e-5 <= math.log(vocab) + 1e-5
        checked += 1
    assert checked >= 4
    ent = {p.id: [r["entropy"] for r in rows if r["prompt_id"] == p.id] for p in PROMPTS}
    lps = {p.id: [r["token_logprobs"] for r in rows if r["prompt_id"] == p.id] for p in PROMPTS}
    bf = diversity.branching_factor(entropies=ent, token_logprobs=lps)
    assert 1.0 <= bf.value <= vocab and "|cand:full|" in bf.signature


def test_top_p_filtered_tokens_give_finite_entropy(backend):
    """With top-p the processed scores hold -inf for the filtered tokens: entropy of the truncated distribution,
    never NaN, and at most ln of the vocabulary; the sampled token is always inside the nucleus."""
    cfg = DecodingConfig(k=4, max_new_tokens=6, seed=5, top_logprobs=3, top_p=0.3)
    full = DecodingConfig(k=4, max_new_tokens=6, seed=5, top_logprobs=3)
    gens = backend.generate("the cat", cfg, 11)
    wide = backend.generate("the cat", full, 11)
    assert all(g.entropy and np.isfinite(g.entropy).all() and np.isfinite(g.token_logprobs).all() for g in gens)
    # a nucleus of 30% of the mass holds fewer tokens than the whole vocabulary: lower entropy at position 1
    assert gens[0].entropy[0] < wide[0].entropy[0]
    assert all(lp > math.log(1e-6) for g in gens for lp in g.token_logprobs)
