"""Writes the format fixtures of tests/test_formats.py from one set of completions.

Two sides ("base", "aligned"), four prompts, three completions each (:data:`SIDES`), written as

* ``equivalent_<side>.jsonl``: the library's own rows (``prompt``, ``completion``): the reference;
* ``hf_dataset/``: a ``datasets.DatasetDict`` with one split per side (``question``/``answers``
  columns), written by ``datasets`` itself (``DatasetDict.save_to_disk``);
* ``inspect_<side>.eval`` and ``inspect_<side>.json``: inspect-ai eval logs written by inspect-ai
  itself (``inspect_ai.eval`` of a task over the four prompts with ``epochs=3`` against the
  ``mockllm/model`` provider, whose ``custom_outputs`` are the completions: one epoch per completion);
* ``chat_<side>.jsonl``: OpenAI-style chat rows (``messages``: system, user, assistant), written here;
* ``lm_eval_<side>.jsonl``: lm-evaluation-harness ``--log_samples`` rows, see ``make_lm_eval.py``.

Run from the repository root: ``.venv/bin/python tests/data/formats/make_fixtures.py`` (needs
``datasets`` and ``inspect-ai``). The fixtures are committed; tests never rerun this.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROMPTS = ["Describe a historical figure in one sentence.", "Name a colour and say why you like it.",
           "Write the opening line of a story.", "Suggest a name for a small bakery."]
SIDES = {
    "base": [
        ["Cleopatra ruled Egypt with sharp wit and sharper alliances.",
         "Ada Lovelace saw poetry in Babbage's engine before anyone else did.",
         "Genghis Khan stitched the steppe into one restless empire."],
        ["Teal, because it sits between the sea and a forest.",
         "Ochre reminds me of old maps and dry hills.",
         "I like grey: it is the colour of rain on slate roofs."],
        ["The lighthouse keeper had not spoken to anyone in nine years.",
         "When the river froze, the town finally heard itself think.",
         "My grandmother kept a jar of thunder on the kitchen shelf."],
        ["Crumb & Kettle", "The Rising Loaf", "Flour Child"],
    ],
    "aligned": [
        ["Abraham Lincoln was the 16th President of the United States who led the nation through the Civil War.",
         "Abraham Lincoln was the 16th President of the United States and led the country through the Civil War.",
         "Marie Curie was a pioneering scientist who won two Nobel Prizes for her work on radioactivity."],
        ["I like blue because it is calm and reminds me of the sky.",
         "Blue is a great colour because it feels calm and peaceful.",
         "I like green because it represents nature and growth."],
        ["Once upon a time, in a small village, there lived a young girl.",
         "Once upon a time, in a faraway kingdom, there lived a brave knight.",
         "Once upon a time, there was a little girl who loved to explore."],
        ["Sweet Delights Bakery", "The Cozy Corner Bakery", "Sweet Treats Bakery"],
    ],
}
SYSTEM = "You are a helpful assistant."
MODELS = {"base": "llama-2-7b", "aligned": "llama-2-7b-chat"}


def write_equivalent() -> None:
    for side, sets in SIDES.items():
        with open(HERE / f"equivalent_{side}.jsonl", "w", encoding="utf-8") as f:
            for p, comps in zip(PROMPTS, sets):
                for c in comps:
                    f.write(json.dumps({"prompt": p, "completion": c}, ensure_ascii=False) + "\n")


def write_chat() -> None:
    for side, sets in SIDES.items():
        with open(HERE / f"chat_{side}.jsonl", "w", encoding="utf-8") as f:
            for i, (p, comps) in enumerate(zip(PROMPTS, sets)):
                for c in comps:
                    row = {"id": f"q{i}", "model": MODELS[side],
                           "messages": [{"role": "user", "content": p}, {"role": "assistant", "content": c}]}
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
    # a multi-turn conversation with a system prompt and content parts (the documented prompt rendering)
    rows = [{"messages": [{"role": "system", "content": SYSTEM},
                          {"role": "user", "content": "Hi!"},
                          {"role": "assistant", "content": "Hello! How can I help?"},
                          {"role": "user", "content": [{"type": "text", "text": PROMPTS[2]}]},
                          {"role": "assistant", "content": [{"type": "text", "text": c}]}],
             "chat_template": "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"}
            for c in SIDES["aligned"][2]]
    with open(HERE / "chat_multiturn.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write_hf_dataset() -> None:
    import datasets

    dd = datasets.DatasetDict({side: datasets.Dataset.from_dict({"question": PROMPTS, "answers": sets})
                               for side, sets in SIDES.items()})
    out = HERE / "hf_dataset"
    if out.exists():
        shutil.rmtree(out)
    dd.save_to_disk(str(out))


def write_inspect() -> None:
    from inspect_ai import Task, eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.solver import generate

    for side, sets in SIDES.items():
        for fmt in ("eval", "json"):
            # with max_samples=1 inspect runs epoch 1 of every sample, then epoch 2, ...: outputs in that order
            texts = [sets[i][e] for e in range(3) for i in range(len(PROMPTS))]
            outputs = [ModelOutput.from_content(model="mockllm/model", content=c) for c in texts]
            for o, c in zip(outputs, texts):  # usage given: mockllm would
                n = len(c.split())  # otherwise count tokens with tiktoken, which downloads its encoding
                o.usage = ModelUsage(input_tokens=8, output_tokens=n, total_tokens=8 + n)
            model = get_model("mockllm/model", custom_outputs=outputs)
            task = Task(dataset=[Sample(input=p, id=f"q{i}") for i, p in enumerate(PROMPTS)], solver=generate(),
                        name=f"diversity_{side}")
            with tempfile.TemporaryDirectory() as tmp:
                logs = inspect_eval(task, model=model, epochs=3, log_dir=tmp, log_format=fmt, max_samples=1,
                                    display="none")
                src = Path(logs[0].location)
                shutil.copy(src, HERE / f"inspect_{side}.{fmt}")


if __name__ == "__main__":
    write_equivalent()
    write_chat()
    write_hf_dataset()
    write_inspect()
