from collections import Counter
from pathlib import Path

import pytest

from diversity.io.datasets import load_handwritten

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def _cache_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("diversity-cache")


@pytest.fixture(autouse=True)
def _private_embedding_cache(_cache_folder, monkeypatch):
    """Tests never write to the user's real embedding cache (DIVERSITY_CACHE_DIR points at a temporary folder)."""
    monkeypatch.setenv("DIVERSITY_CACHE_DIR", str(_cache_folder))


@pytest.fixture(scope="session")
def real_sets():
    """Hand-written but natural English sets (both sides of the bundled example)."""
    return load_handwritten("base"), load_handwritten("aligned")


def ref_ngrams(tokens, n):
    """Reference n-grams of one token list (plain Python; the nltk.util.ngrams definition)."""
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def ref_counter(token_lists, n):
    c = Counter()
    for toks in token_lists:
        c.update(ref_ngrams(toks, n))
    return c


# ---- a tiny randomly initialised Llama built here (sampler tests) ---------------------------------------

TINY_WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "log", "big", "red", "and", "then", "."]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A word-level Llama with one layer, saved to a folder (no download)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(TINY_WORDS)}}
    t = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    folder = tmp_path_factory.mktemp("tiny-llama")
    chat = "{% for m in messages %}{{ m['content'] }} {% endfor %}{% if add_generation_prompt %}then{% endif %}"
    return save_tiny_llama(folder, t, seed=0, chat_template=chat)


def save_tiny_llama(folder, tokenizer, *, seed: int, chat_template: str | None = None):
    """A one-layer Llama over ``tokenizer`` (a ``tokenizers.Tokenizer`` with <pad> 0, <eos> 1, <unk> 2), its
    weights drawn with ``seed``, saved with the tokenizer to ``folder``."""
    import torch
    import transformers

    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>",
                                               eos_token="<eos>")
    if chat_template:
        tok.chat_template = chat_template
    tok.save_pretrained(folder)
    cfg = transformers.LlamaConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=16, intermediate_size=32,
                                   num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                   max_position_embeddings=64, pad_token_id=0, eos_token_id=1, bos_token_id=1)
    torch.manual_seed(seed)
    transformers.LlamaForCausalLM(cfg).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def backend(tiny_model):
    from diversity.generation import TransformersBackend

    return TransformersBackend(tiny_model, model_id="tiny-llama")


# ---- the command line, in process (a subprocess per call costs a second of imports) ----------------------

class CliRun:
    """What ``subprocess.run`` would give: ``returncode``, ``stdout``, ``stderr``."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_cli(*args):
    """``diversity ARGS`` through :func:`diversity.cli.main` in this process (argparse's exits included)."""
    import contextlib
    import io

    from diversity.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse: --help, --version, usage errors
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    return CliRun(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli
