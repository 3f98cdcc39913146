"""Readers for lm-eval sample logs, inspect-ai eval logs, chat rows and Hugging Face datasets.

The fixtures in tests/data/formats were written by the real libraries (see make_fixtures.py and
make_lm_eval.py there): ``datasets`` (save_to_disk), inspect-ai 0.3.285 (``.eval`` and ``.json`` logs of a
mockllm run with scripted outputs, epochs=3) and lm-evaluation-harness 0.4.13 (``--log_samples`` of a
generate_until task with repeats=3 against a scripted LM); chat rows follow OpenAI's ``messages`` schema.
All hold the completions of ``equivalent_<side>.jsonl``, so every format must give its numbers.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

import diversity
from diversity.io import SampleFileError, load_records, load_samples
from diversity.io.formats import from_dataset, read_format, sniff_format

D = Path(__file__).parent / "data" / "formats"
FILES = ["lm_eval_{}.jsonl", "inspect_{}.eval", "inspect_{}.json", "chat_{}.jsonl"]
LEXICAL = ["distinct-1", "distinct-2", "self-bleu", "compression-ratio", "unique-fraction"]


def ref(side):
    return load_samples(D / f"equivalent_{side}.jsonl")


# ---- every format gives the rows and numbers of the equivalent JSONL --------------------------------------

@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("side", ["base", "aligned"])
def test_each_format_loads_as_the_equivalent_jsonl(name, side):
    got = load_samples(D / name.format(side))
    assert got == ref(side) and list(got) == list(ref(side))  # prompts and completions, in order


@pytest.mark.parametrize("name, fmt", [("lm_eval_base.jsonl", "lm-eval"), ("inspect_base.eval", "inspect"),
                                       ("inspect_base.json", "inspect"), ("chat_base.jsonl", "chat"),
                                       ("equivalent_base.jsonl", "jsonl")])
def test_detection(name, fmt):
    from diversity.io.reader import resolve

    assert resolve(D / name, None, "utf-8")[1] == fmt


@pytest.mark.parametrize("name", FILES)
def test_score_and_compare_give_the_numbers_of_the_equivalent_jsonl(name):
    a, b = load_samples(D / name.format("base")), load_samples(D / name.format("aligned"))
    s, s_ref = diversity.score(a, LEXICAL, ci=False), diversity.score(ref("base"), LEXICAL, ci=False)
    for m in LEXICAL:
        assert s[m].value == s_ref[m].value and s[m].signature == s_ref[m].signature
    with pytest.warns(diversity.UnreachableSignificanceWarning):  # four prompts
        c = diversity.compare(a, b, ["distinct-1", "distinct-2"])
        c_ref = diversity.compare(ref("base"), ref("aligned"), ["distinct-1", "distinct-2"])
    for m in ("distinct-1", "distinct-2"):
        assert (c[m].diff, c[m].p_value, c[m].diff_ci) == (c_ref[m].diff, c_ref[m].p_value, c_ref[m].diff_ci)
    assert c["distinct-2"].diff < 0  # the aligned fixture repeats itself


@pytest.mark.parametrize("name", ["lm_eval_{}.jsonl", "inspect_{}.eval", "chat_{}.jsonl"])
def test_cli_score_and_compare_read_the_formats(name, capsys):
    from diversity.cli import main

    def run(*argv):
        assert main(list(argv) + ["--metrics", "distinct-2", "--format", "json", "--quiet"]) == 0
        return json.loads(capsys.readouterr().out)

    assert run("score", str(D / name.format("base"))) == run("score", str(D / "equivalent_base.jsonl"))
    got = run("compare", str(D / name.format("base")), str(D / name.format("aligned")))
    want = run("compare", str(D / "equivalent_base.jsonl"), str(D / "equivalent_aligned.jsonl"))
    assert json.dumps(got["rows"] if "rows" in got else got, sort_keys=True) == \
        json.dumps(want["rows"] if "rows" in want else want, sort_keys=True)


def test_format_in_names_the_format(tmp_path, capsys):
    from diversity.cli import main

    f = tmp_path / "log.txt"  # a name that tells nothing: detected from the first row
    shutil.copy(D / "chat_base.jsonl", f)
    assert load_samples(f) == load_samples(f, format="chat") == ref("base")
    with pytest.raises(SampleFileError, match=r"log.txt:1: no 'prompt' field \(fields: id, "
                                              r"model, messages\)"):
        load_samples(f, format="jsonl")  # a format given is obeyed
    lm = tmp_path / "lm.log"
    shutil.copy(D / "lm_eval_base.jsonl", lm)
    assert load_samples(lm, format="lm-eval") == ref("base")
    assert main(["score", str(f), "--format-in", "chat", "--metrics", "distinct-1", "--quiet"]) == 0
    with pytest.raises(ValueError, match="Unknown sample file format 'lm_eval'; use .*'lm-eval', 'inspect' or 'chat'"):
        load_samples(f, format="lm_eval")


# ---- lm-evaluation-harness ----------------------------------------------------------------------------------

def lm_rows():
    return [json.loads(line) for line in (D / "lm_eval_base.jsonl").read_text().splitlines()]


def write(tmp_path, rows, name="samples_x.jsonl"):
    p = tmp_path / name
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_lm_eval_rows_keep_doc_id_target_and_filter():
    rows = load_records(D / "lm_eval_base.jsonl")
    assert len(rows) == 12 and rows[0]["prompt_id"] == 0 and rows[0]["sample_index"] == 0
    assert {r["filter"] for r in rows} == {"none"} and rows[5]["doc_id"] == 1
    by_id = load_samples(D / "lm_eval_base.jsonl", prompt_field="prompt_id")
    assert list(by_id) == [0, 1, 2, 3] and list(by_id.values()) == list(ref("base").values())


def test_lm_eval_filtered_resps_and_filters(tmp_path):
    assert read_format(D / "lm_eval_base.jsonl", responses="filtered_resps") == {
        p: c[:1] for p, c in ref("base").items()}  # lm-eval's default filter keeps the first response
    rows = lm_rows()
    other = [dict(r, filter="strict", filtered_resps=["x"]) for r in rows]
    p = write(tmp_path, rows + other)
    assert read_format(p) == ref("base")  # one document logged for two filters is read once
    with pytest.raises(SampleFileError, match=r"several filters \(none, strict\); pass filter="):
        read_format(p, responses="filtered_resps")
    assert set(map(tuple, read_format(p, responses="filtered_resps", filter="strict").values())) == {("x",)}
    with pytest.raises(SampleFileError, match="no row of filter 'loose'"):
        read_format(p, responses="filtered_resps", filter="loose")
    with pytest.raises(ValueError, match="'responses' parameter must be 'resps' or 'filtered_resps'"):
        read_format(p, responses="resp")
    bad = write(tmp_path, rows + [dict(rows[0], filter="strict", resps=[["other"]])], "b.jsonl")
    with pytest.raises(SampleFileError, match=r"b.jsonl:5: doc_id 0 is logged again with other resps than at "
                                              r".*b.jsonl:1"):
        read_format(bad)


def test_lm_eval_task_from_the_file_name(tmp_path):
    p = tmp_path / "samples_diversity_open_base_2026-12-04T21-06-00.123456.jsonl"
    shutil.copy(D / "lm_eval_base.jsonl", p)
    assert {r["task"] for r in load_records(p)} == {"diversity_open_base"}
    assert "task" not in load_records(D / "lm_eval_base.jsonl")[0]


def test_gzipped_logs_are_detected(tmp_path):
    import gzip

    for name in ("lm_eval_base.jsonl", "chat_base.jsonl"):
        p = tmp_path / (name + ".gz")
        p.write_bytes(gzip.compress((D / name).read_bytes()))
        assert load_samples(p) == ref("base")


def test_long_first_rows_are_detected(tmp_path):
    rows = lm_rows()
    rows[0]["doc"]["passage"] = "word " * 5000  # a first row far longer than the reader's 4 kB head
    p = write(tmp_path, rows, "long.jsonl")
    assert load_samples(p) == ref("base")


def test_lm_eval_older_list_arguments(tmp_path):
    rows = [dict(r, arguments=[[r["arguments"]["gen_args_0"]["arg_0"], {"until": []}]]) for r in lm_rows()]
    assert read_format(write(tmp_path, rows), "lm-eval") == ref("base")


@pytest.mark.parametrize("change, msg", [
    (lambda r: r.pop("resps"), r":1: not an lm-evaluation-harness sample row: no 'resps' field \(fields: doc_id, "
                               r"doc, target, arguments, filtered_resps"),
    (lambda r: r.update(arguments={"gen_args_0": {"arg_0": "c", "arg_1": " a"}, "gen_args_1": {"arg_0": "c"}}),
     r"the document has 2 requests in 'arguments' \(a log-likelihood or multiple-choice task\)"),
    (lambda r: r.update(arguments={"gen_args_0": {"arg_0": ["x"]}}), r"'arguments.gen_args_0.arg_0' \(the prompt\) "
                                                                     r"is '\[\"x\"\]', not a string"),
    (lambda r: r.update(arguments="ctx"), r"'arguments' must be an object \(gen_args_0...\) or a list, got str"),
    (lambda r: r.update(resps=[[[-3.0, False]]]), r"'resps\[0\]\[0\]' is '\[-3.0, false\]', not a generated string"),
    (lambda r: r.update(resps=[]), r"'resps' must hold one entry per request"),
    (lambda r: r.update(resps=[[]]), r"'resps\[0\]' must be a non-empty list of generated strings"),
])
def test_lm_eval_errors_name_the_field(tmp_path, change, msg):
    rows = lm_rows()
    change(rows[0])
    with pytest.raises(SampleFileError, match=msg):
        read_format(write(tmp_path, rows), "lm-eval")


# ---- inspect-ai ---------------------------------------------------------------------------------------------

def test_inspect_rows_epochs_model_task():
    rows = load_records(D / "inspect_aligned.eval")
    assert [(r["prompt_id"], r["epoch"], r["sample_index"]) for r in rows[:3]] == [("q0", 1, 0), ("q0", 2, 1),
                                                                                  ("q0", 3, 2)]
    assert {r["model"] for r in rows} == {"mockllm/model"} and {r["task"] for r in rows} == {"diversity_aligned"}
    assert load_records(D / "inspect_aligned.json") == rows
    assert list(load_samples(D / "inspect_base.eval", prompt_field="prompt_id")) == ["q0", "q1", "q2", "q3"]


def inspect_log():
    return json.loads((D / "inspect_base.json").read_text())


@pytest.mark.parametrize("change, msg", [
    (lambda log: log.pop("samples"), r"the inspect-ai log holds no 'samples' \(written with --no-log-samples"),
    (lambda log: log["samples"][1].pop("output"), r"samples\[1\]: not an inspect-ai sample: no 'output' field"),
    (lambda log: log["samples"][0].update(error={"message": "RuntimeError: boom"}),
     r"samples\[0\]: sample 'q0' epoch 1 ended in an error \('RuntimeError: boom'\); it has no completion"),
    (lambda log: log["samples"][0]["output"].update(choices=[]), r"sample 'q0' epoch 1 has no output \("
                                                                 r"'output.choices' is '\[\]'\)"),
    (lambda log: log["samples"][0]["output"]["choices"][0]["message"].update(
        content=[{"type": "image", "image": "data:"}]), r"output.choices\[0\].message.content\[0\] is .*only text parts"),
    (lambda log: log.pop("eval"), r"not an inspect-ai eval log: no 'eval' object"),
])
def test_inspect_errors_name_the_field(tmp_path, change, msg):
    log = inspect_log()
    change(log)
    p = tmp_path / "log.json"
    p.write_text(json.dumps(log))
    with pytest.raises(SampleFileError, match=msg):
        read_format(p, "inspect")


def test_inspect_chat_input_reasoning_parts_and_several_choices(tmp_path):
    log = inspect_log()
    s = log["samples"][0]
    s["input"] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": s["input"]}]
    s["output"]["choices"] = [{"message": {"role": "assistant", "content": [
        {"type": "reasoning", "reasoning": "hmm"}, {"type": "text", "text": "First."}]}},
        {"message": {"role": "assistant", "content": "Second."}}]
    p = tmp_path / "log.json"
    p.write_text(json.dumps(log))
    got = read_format(p)
    assert got["system: Be brief.\n\nuser: Describe a historical figure in one sentence."] == ["First.", "Second."]


def test_broken_eval_zip(tmp_path):
    p = tmp_path / "x.eval"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("header.json", "{}")
    with pytest.raises(SampleFileError, match=r"holds no samples/\*.json"):
        read_format(p)
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SampleFileError, match="not a readable inspect-ai .eval log"):
        read_format(p, "inspect")


# ---- chat rows ------------------------------------------------------------------------------------------------

def test_chat_rows_multiturn_template_and_ids():
    rows = load_records(D / "chat_multiturn.jsonl")
    assert rows[0]["prompt"] == ("system: You are a helpful assistant.\n\nuser: Hi!\n\nassistant: Hello! How can I "
                                 "help?\n\nuser: Write the opening line of a story.")
    assert rows[0]["chat_template"].startswith("{% for m in messages %}")
    assert load_records(D / "chat_base.jsonl")[0]["model"] == "llama-2-7b"
    assert list(load_samples(D / "chat_base.jsonl", prompt_field="prompt_id")) == ["q0", "q1", "q2", "q3"]


@pytest.mark.parametrize("messages, msg", [
    ([{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}], r"'messages' has no user turn"),
    ([{"role": "user", "content": "q"}], r"'messages' ends with a user turn \(messages\[0\]\): there is no assistant"),
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, {"role": "tool", "content": "t"}],
     r"after the last user turn \(messages\[0\]\) 'messages' must hold exactly one assistant message .*: assistant, "
     r"tool"),
    ([{"role": "user", "content": "q"}, {"role": "assistant"}], r"messages\[1\] \(assistant\) has no 'content'"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}, {"role": "assistant", "content": "a"}],
     r"messages\[0\].content\[0\] is .*only text parts"),
    ([{"content": "q"}], r"messages\[0\] is .*not a message with a 'role' string"),
    ("hello", r"'messages' must be a non-empty list of messages"),
])
def test_chat_errors_name_the_field(tmp_path, messages, msg):
    p = write(tmp_path, [{"messages": messages}], "c.jsonl")
    with pytest.raises(SampleFileError, match=r"c.jsonl:1: " + msg):
        read_format(p, "chat")


def test_read_format_refuses_plain_rows():
    with pytest.raises(SampleFileError, match=r"not an lm-eval, inspect-ai or chat file \(read as jsonl\)"):
        read_format(D / "equivalent_base.jsonl")
    with pytest.raises(ValueError, match="Unknown format 'csv' for read_format"):
        read_format(D / "equivalent_base.jsonl", "csv")


def test_sniff_leaves_plain_rows_alone(tmp_path):
    head = b'{"prompt": "p", "completion": "c", "messages": []}\n'
    assert sniff_format(Path("x.jsonl"), "jsonl", head) == "jsonl"
    assert sniff_format(Path("x.jsonl"), "jsonl", b'{"prompt": "p", "completion": "c"}\n') == "jsonl"
    assert sniff_format(Path("x.csv"), "csv", b"prompt,completion\n") == "csv"


# ---- Hugging Face datasets ----------------------------------------------------------------------------------

datasets = pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def dd():
    return datasets.load_from_disk(str(D / "hf_dataset"))


def test_dataset_dict_dataset_and_iterable(dd):
    kw = dict(prompt_column="question", completions_column="answers")
    assert from_dataset(dd, split="base", **kw) == ref("base")
    assert from_dataset(dd["aligned"], **kw) == ref("aligned")
    assert from_dataset(dd["base"].to_iterable_dataset(), **kw) == ref("base")
    assert load_samples(dd["base"], prompt_field="question", completions_field="answers") == ref("base")
    with pytest.warns(diversity.UnreachableSignificanceWarning):
        c = diversity.compare(from_dataset(dd, split="base", **kw), from_dataset(dd, split="aligned", **kw),
                              ["distinct-2"])
        assert c["distinct-2"].diff == diversity.compare(ref("base"), ref("aligned"), ["distinct-2"])["distinct-2"].diff


def test_dataset_one_completion_per_row_and_chat_column():
    rows = [{"prompt": p, "completion": c} for p, cs in ref("base").items() for c in cs]
    ds = datasets.Dataset.from_list(rows)
    assert from_dataset(ds) == ref("base")
    assert from_dataset(ds, prompt_column=None) == {None: [c for cs in ref("base").values() for c in cs]}
    chat = datasets.Dataset.from_list([{"conv": [{"role": "user", "content": r["prompt"]},
                                                 {"role": "assistant", "content": r["completion"]}]} for r in rows])
    assert from_dataset(chat, messages_column="conv") == ref("base")
    assert diversity.score(from_dataset(ds), ["distinct-1"], ci=False)["distinct-1"].value == \
        diversity.score(ref("base"), ["distinct-1"], ci=False)["distinct-1"].value


def test_dataset_errors(dd):
    with pytest.raises(ValueError, match=r"has the splits 'base', 'aligned'; pass split="):
        from_dataset(dd, prompt_column="question", completions_column="answers")
    with pytest.raises(ValueError, match=r"has no split 'chat'; its splits: 'base', 'aligned'"):
        from_dataset(dd, split="chat")
    with pytest.raises(ValueError, match=r"split='base' was given, but a Dataset has no splits"):
        from_dataset(dd["base"], split="base")
    with pytest.raises(ValueError, match=r"has no column 'prompt' \(columns: question, answers\); pass the column's "
                                         r"name \(prompt_column=\)"):
        from_dataset(dd["base"], completions_column="answers")
    with pytest.raises(ValueError, match=r"neither a 'completion' nor a 'completions' column \(columns: question, "
                                         r"answers\)"):
        from_dataset(dd["base"], prompt_column="question")
    with pytest.raises(ValueError, match=r"no column 'messages'.*\(messages_column=\)"):
        from_dataset(dd["base"], messages_column="messages")
    with pytest.raises(ValueError, match="With messages_column, prompt_column must be 'prompt'"):
        from_dataset(dd["base"], messages_column="answers", prompt_column="question")
    with pytest.raises(TypeError, match="from_dataset needs a datasets.Dataset, DatasetDict or IterableDataset, got "
                                        "dict"):
        from_dataset({"prompt": []})
    bad = datasets.Dataset.from_list([{"prompt": "p", "completion": None}])
    with pytest.raises(SampleFileError, match=r"<Dataset> row 0: completion is missing \(null/NaN\), not a string"):
        from_dataset(bad)


def test_rows_passed_straight_to_score_are_refused_with_advice(dd):
    with pytest.raises(ValueError, match=r"The Dataset has no 'completion', 'completions' or 'messages' column "
                                         r"\(columns: question, answers\): name its columns with "
                                         r"diversity.from_dataset\(ds, prompt_column=..., completion_column=...\)"):
        diversity.score(dd["base"], ["distinct-1"])
    with pytest.raises(TypeError, match=r"samples holds rows \(mappings with the keys question, answers\), not "
                                        r"completions; group them by prompt first"):
        diversity.score(list(dd["base"]), ["distinct-1"])


@pytest.mark.slow
def test_score_dask_reads_the_formats():
    pytest.importorskip("dask.dataframe")
    from diversity.distributed import score_dask

    want = score_dask([str(D / "equivalent_base.jsonl")], ["distinct-2", "self-bleu"], ci=False)
    for name in ("lm_eval_base.jsonl", "inspect_base.eval", "chat_base.jsonl"):
        got = score_dask([str(D / name)], ["distinct-2", "self-bleu"], ci=False)
        assert {m: r.value for m, r in got.items()} == {m: r.value for m, r in want.items()}


def test_a_dataset_passed_straight_to_score_and_compare():
    datasets = pytest.importorskip("datasets")
    import diversity

    grouped = {"p1": ["a b c", "a b d"], "p2": ["x y", "x z"]}
    ds = datasets.Dataset.from_dict({"prompt": ["p1", "p1", "p2", "p2"],
                                     "completion": ["a b c", "a b d", "x y", "x z"]})
    assert diversity.score(ds, ["distinct-1"])["distinct-1"] == diversity.score(grouped, ["distinct-1"])["distinct-1"]
    assert diversity.distinct_n(datasets.DatasetDict({"train": ds}), n=1) == diversity.distinct_n(grouped, n=1)
    with pytest.warns(UserWarning):
        c = diversity.compare(ds, grouped, ["distinct-1"])
    assert c["distinct-1"].diff == 0.0
    chat = datasets.Dataset.from_dict({"messages": [
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}]]})
    assert diversity.distinct_n(chat, n=1) == diversity.distinct_n({"hi": ["hello there", "hey"]}, n=1)
    other = datasets.Dataset.from_dict({"question": ["p1"], "answer": ["a"]})
    with pytest.raises(ValueError, match="question"):
        diversity.score(other, ["distinct-1"])
