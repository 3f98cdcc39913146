import pytest

import diversity
from diversity.text.tokenize import available_tokenizers, get_tokenizer, register_tokenizer, Tokenizer


def test_unicode_tokenizer():
    tok = get_tokenizer("unicode")
    assert tok.spec == "unicode-v2"
    assert tok("Don't panic—it’s 3.14, café!") == ["Don't", "panic", "—", "it’s", "3", ".", "14", ",", "café", "!"]
    assert tok("") == [] and tok("   \n") == []


def test_whitespace_and_treebank():
    assert get_tokenizer("whitespace")("a  b\tc.") == ["a", "b", "c."]
    tb = get_tokenizer("nltk-treebank")
    assert tb.spec.startswith("nltk-treebank-")
    assert tb("They'll go, won't they?") == ["They", "'ll", "go", ",", "wo", "n't", "they", "?"]


def test_tokenizer_recorded_in_signature():
    r = diversity.distinct_n(["a b"], n=1, tokenizer="whitespace", lowercase=True)
    assert "|tok:whitespace-v2|lc:yes|" in r.signature


def test_lowercase_changes_counts():
    assert diversity.distinct_n(["The the THE"], n=1).value == 1.0
    assert diversity.distinct_n(["The the THE"], n=1, lowercase=True).value == pytest.approx(1 / 3)


def test_registry_errors():
    assert "hf:<path>" in available_tokenizers()
    with pytest.raises(ValueError, match="already registered"):
        register_tokenizer("unicode", lambda: None)
    with pytest.raises(TypeError, match="tokenizer must be a name or a Tokenizer"):
        get_tokenizer(3)


def test_custom_tokenizer_object():
    chars = Tokenizer("chars", "v1", list)
    r = diversity.distinct_n(["abab"], n=1, tokenizer=chars)
    assert r.value == 0.5 and "tok:chars-v1" in r.signature


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    """A tiny real word-level Hugging Face tokenizer, built here and saved to disk."""
    pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer as HFTok, models, pre_tokenizers

    vocab = {"[UNK]": 0, "the": 1, "cat": 2, "sat": 3, "ran": 4, ".": 5}
    t = HFTok(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    folder = tmp_path_factory.mktemp("hf_tok")
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=t, unk_token="[UNK]")
    fast.save_pretrained(folder)
    return folder


def test_hf_tokenizer_from_local_folder(hf_folder):
    tok = get_tokenizer(f"hf:{hf_folder}")
    assert tok("the cat sat.") == ["the", "cat", "sat", "."]
    assert tok.vocab_size == 6
    assert tok.name == f"hf:{hf_folder.name}" and len(tok.version) == 10
    # EAD takes V from the tokenizer and records it
    r = diversity.ead(["the cat sat .", "the cat ran ."], n=1, tokenizer=f"hf:{hf_folder}")
    assert "|V:6|" in r.signature and f"tok:hf:{hf_folder.name}-" in r.signature


def test_hf_tokenizer_missing_folder(tmp_path):
    pytest.importorskip("transformers")
    with pytest.raises(ValueError, match="without network access"):
        get_tokenizer(f"hf:{tmp_path / 'nothing-here'}")


from hypothesis import given, settings, strategies as st


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1_ '’\n\t.,!é—中") + ["\u00a0", "\u0301", "\u093f", "\u0e34",
                                                                     "\u0915", "\u0627", "\u064e"]),
               max_size=40))
def test_unicode_tokenizer_is_the_documented_regex(text):
    import unicodedata

    regex = pytest.importorskip("regex")  # the third-party regex module knows \p{M}
    documented = regex.compile(r"[\w\p{M}]+(?:['’][\w\p{M}]+)*|[^\w\s\p{M}]\p{M}*", regex.VERSION0)
    assert get_tokenizer("unicode")(text) == documented.findall(unicodedata.normalize("NFC", text))


# real sentences: words keep their combining marks (unicode-v1 split them at every mark)
REAL = [
    ("hindi", "हिन्दी भारत की एक प्रमुख भाषा है।", ["हिन्दी", "भारत", "की", "एक", "प्रमुख", "भाषा", "है", "।"]),
    ("arabic", "اللُّغَةُ العَرَبِيَّةُ جميلة.", ["اللُّغَةُ", "العَرَبِيَّةُ", "جميلة", "."]),
    ("thai", "ภาษาไทย เป็นภาษาที่สวยงาม", ["ภาษาไทย", "เป็นภาษาที่สวยงาม"]),
    ("vietnamese", "Tiếng Việt rất đẹp.", ["Tiếng", "Việt", "rất", "đẹp", "."]),
    ("chinese", "我喜欢学习中文。", ["我喜欢学习中文", "。"]),
    ("nfd-latin", "Cafe\u0301 nai\u0308ve re\u0301sume\u0301", ["Café", "naïve", "résumé"]),
]


@pytest.mark.parametrize("lang,text,expected", REAL, ids=[r[0] for r in REAL])
def test_unicode_v2_keeps_words_whole_on_real_sentences(lang, text, expected):
    assert get_tokenizer("unicode")(text) == expected


def test_nfc_makes_composed_and_decomposed_one_type():
    composed, decomposed = "café café", "cafe\u0301 café"
    assert diversity.distinct_n([decomposed], n=1).value == diversity.distinct_n([composed], n=1).value == 0.5
    hindi = ["हिन्दी भाषा बहुत सुंदर है", "हिन्दी भाषा सरल है"]
    # whole words: 6 distinct of 9 (unicode-v1 counted the pieces of every word between its marks)
    assert diversity.distinct_n(hindi, n=1).value == pytest.approx(6 / 9)


def test_truncate_returns_a_prefix_of_the_text():
    for name in ("unicode", "whitespace", "nltk-treebank"):
        tok = get_tokenizer(name)
        text = 'Hello,  world! It\'s a "test" here.'
        cut = tok.truncate(text, 3)
        assert text.startswith(cut) and tok(cut) == tok(text)[:3], name
        assert tok.truncate(text, 100) == text
