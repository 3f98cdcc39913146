"""Whole-text normalisations (unique-fraction's ``normalize=``) against the regular-expression form."""

import random
import re
import sys

from diversity.text.normalize import NORMALIZERS

_WS = re.compile(r"\s+")


def reference(kind, s):
    if kind == "exact":
        return s
    out = _WS.sub(" ", s).strip()
    return out.casefold() if kind == "casefold-whitespace" else out


def test_every_whitespace_code_point_is_treated_as_the_regex_does():
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if re.fullmatch(r"\s", chr(c))]
    assert spaces == [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    rng = random.Random(0)
    pool = spaces + list("ab É東\u200b\u00a0\ufeff") + ["\x00", "\x1c", "\x85"]
    for _ in range(3000):
        s = "".join(rng.choice(pool) for _ in range(rng.randint(0, 12)))
        for kind, f in NORMALIZERS.items():
            assert f(s) == reference(kind, s), (kind, s)
