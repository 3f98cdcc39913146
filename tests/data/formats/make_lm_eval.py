"""Writes ``lm_eval_<side>.jsonl``: lm-evaluation-harness ``--log_samples`` files written by lm-eval itself.

A generate_until task over the four prompts of ``make_fixtures.py`` (local JSON data, ``repeats: 3``,
so every doc has three sampled responses) is run by ``lm_eval.simple_evaluate`` against a scripted
``lm_eval.api.model.LM`` whose ``generate_until`` answers each request with the next completion of
its prompt; lm-eval's ``EvaluationTracker.save_results_samples`` writes the file (one row per doc:
``doc_id``, ``doc``, ``target``, ``arguments`` as ``{"gen_args_0": {"arg_0": prompt, "arg_1":
generation kwargs}}``, ``resps`` holding the three responses, ``filtered_resps``, ``filter``, hashes,
metrics). The tracker's output file is renamed to ``lm_eval_<side>.jsonl``.

Made with lm-eval 0.4.13 installed apart from the project's environment (``pip install --no-deps
--target /tmp/lmeval lm-eval`` plus its pure-Python dependencies in ``/tmp/lmeval-deps``)::

    HF_DATASETS_OFFLINE=1 PYTHONPATH=/tmp/lmeval:/tmp/lmeval-deps .venv/bin/python tests/data/formats/make_lm_eval.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_fixtures import PROMPTS, SIDES  # noqa: E402

TASK_YAML = """task: diversity_open_{side}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{question}}}}"
doc_to_target: ""
repeats: 3
generation_kwargs:
  until: ["\\n\\n"]
  do_sample: true
  temperature: 1.0
  max_gen_toks: 64
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
"""


def main() -> None:
    import lm_eval
    from lm_eval.api.model import LM
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    for side, sets in SIDES.items():
        queue = {p: list(c) for p, c in zip(PROMPTS, sets)}

        class Scripted(LM):
            def loglikelihood(self, requests):
                raise NotImplementedError

            def loglikelihood_rolling(self, requests):
                raise NotImplementedError

            def generate_until(self, requests):
                return [queue[r.args[0]].pop(0) for r in requests]

        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            data = tmp / "data.jsonl"
            data.write_text("".join(json.dumps({"question": p}) + "\n" for p in PROMPTS))
            (tmp / "tasks").mkdir()
            (tmp / "tasks" / f"diversity_open_{side}.yaml").write_text(TASK_YAML.format(side=side, data=data))
            tracker = EvaluationTracker(output_path=str(tmp / "out"))
            res = lm_eval.simple_evaluate(model=Scripted(), tasks=[f"diversity_open_{side}"], log_samples=True,
                                          task_manager=TaskManager(include_path=str(tmp / "tasks")),
                                          evaluation_tracker=tracker)
            task = f"diversity_open_{side}"
            tracker.save_results_aggregated(results=res, samples=res["samples"])
            tracker.save_results_samples(task_name=task, samples=res["samples"][task])
            written = sorted((tmp / "out").rglob(f"samples_{task}_*.jsonl"))
            assert len(written) == 1, written
            shutil.copy(written[0], HERE / f"lm_eval_{side}.jsonl")
            assert all(not q for q in queue.values()), queue


if __name__ == "__main__":
    main()
