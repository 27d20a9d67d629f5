#!/usr/bin/python3
"""pretok_ref.py: the oracle for tests/test_pretok.c.

Runs the pre-tokenizer regexes of each tokenizer family with the third-party `regex` module
(findall semantics; each regex of a sequence splits every piece of the previous one, keeping
matches and the text between them, as Hugging Face's Split "Isolated" and llama.cpp's
unicode_regex_split do) over generated texts, and writes expected splits to OUT:
    C <class> <lo>-<hi> ...     code point ranges of \\p{L}, \\p{N}, \\s, \\p{P} and the
                                DeepSeek classes, as the regex module matches them
    T <hex of the UTF-8 text>
    K <kind> <byte length of each piece, comma-separated>   (one line per family)
Usage: /usr/bin/python3 tests/ref/pretok_ref.py DATA_DIR OUT [N_RANDOM]
With PRETOK_COMPARE=1 it also runs llama.cpp's forms of the HF patterns and reports the texts
they split differently on stderr.
"""
import json
import os
import random
import sys

import regex

# Hugging Face's ByteLevel(use_regex=true) pattern.
GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
# llama.cpp writes it without the final \s+ (the lone space it leaves is a gap piece instead).
GPT2_LLAMACPP = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
         r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# DeepSeek LLM's letter class, as written in llama.cpp's llama-vocab.cpp (escaped here so that
# no editor normalizes the singleton-decomposition characters U+1F7D, U+1FBE, U+2126, U+212A ...).
DS_LETTERS = (
    "A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5"
    "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba"
    "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45"
    "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe"
    "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc"
    "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3"
    "\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06"
    "\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
    "\U0001e900-\U0001e943")
DS_PUNCT = "!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002"
DS_CJK = "\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff"


def families(data):
    tj = json.load(open(os.path.join(data, "tokenizers/llama3-8b-instruct-hf/tokenizer.json")))
    llama3 = tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
    # kind number (smol_pretok_kind) -> (name, Hugging Face sequence, llama.cpp sequence)
    return [
        (1, "gpt-2", [GPT2], [GPT2_LLAMACPP]),
        (2, "llama-bpe", [llama3], [llama3.replace(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])")]),
        (3, "qwen2", [QWEN2], [QWEN2.replace(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])")]),
        (4, "smollm", [r"\p{N}", GPT2], [r"\p{N}", GPT2_LLAMACPP]),
        (5, "deepseek-llm", None, ["[\r\n]", r"\s?[" + DS_LETTERS + "]+", r"\s?[" + DS_PUNCT + "]+",
                                   r"\s+$", "[" + DS_CJK + "]+", r"\p{N}+"]),
        (6, "deepseek-coder", None, ["[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", "[" + DS_CJK + "]+", r"\p{N}"]),
        (7, "falcon", None, [r"[\p{P}\$\+<=>\^~\|`]+", GPT2_LLAMACPP, "[0-9][0-9][0-9]"]),
        (8, "starcoder", [r"\p{N}", GPT2], [r"\p{N}", GPT2_LLAMACPP]),
        (9, "mpt", [GPT2], [GPT2_LLAMACPP]),
    ]


def split(text, patterns):
    pieces = [text]
    for pat in patterns:
        r = regex.compile(pat)
        out = []
        for pc in pieces:
            last = 0
            for m in r.finditer(pc):
                if m.start() > last:
                    out.append(pc[last:m.start()])
                out.append(m.group())
                last = m.end()
            if last < len(pc):
                out.append(pc[last:])
        pieces = out
    return pieces


# Characters the random texts are drawn from, by group.
POOL = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    "     \t\n\r",
    "'''\"\"!?.,;:-_()[]{}<>=+*/\\|^~`$%#@&",
    "éèàçüößñÉÅøæœ\u0301\u0308\u0327",              # accents, combining marks
    "中文字符日本語の漢字ひらがなカタカナ한국어텍스트",      # CJK, kana, Hangul
    "😀🎉👍🏽🇺🇸\u200d❤\ufe0f",                      # emoji, ZWJ, variation selector
    "مرحبابالعالم١٢٣٤",                               # Arabic, Arabic-Indic digits
    "नमस्तेदुनिया१२३",                                 # Devanagari
    "０１２３４５６７８９ＡＢＣａｂｃ！？（）",             # fullwidth
    "\u00a0\u2009\u3000\u0085\u2028\u1680\u202f\u200b\ufeff\x0b\x0c\x1c",  # rare spaces
    "ΑΒΓαβγΩωἀᾶ\u1f7d\u1fbe\u2126\u212aℵ²³½Ⅻↂ",       # Greek, letterlike, other numbers
    "'s'S'ſ'll'LL'Re've'd'T'm",                       # contraction material
    "‘’“”„‟«»…—–·、。，！",                            # typographic punctuation
]


def random_text(rng):
    n = rng.randint(1, 40)
    groups = rng.sample(range(len(POOL)), rng.randint(1, 4))
    out = []
    for _ in range(n):
        g = POOL[rng.choice(groups)]
        if rng.random() < 0.3:
            k = rng.randint(0, len(g) - 1)
            out.append(g[k:k + rng.randint(1, 4)])
        else:
            out.append(rng.choice(g))
    return "".join(out)


def texts(data, n_random):
    out = []
    wp = open(os.path.join(data, "corpora/war-and-peace.txt"), encoding="utf-8").read().split("\n")
    for i in range(0, len(wp) - 3, 128):          # ~500 three-line windows
        out.append("\n".join(wp[i:i + 3]))
    for line in open(os.path.join(data, "hf-golden/tokenizers/inputs.jsonl"), encoding="utf-8"):
        out.append(json.loads(line)["text"])
    vdir = os.path.join(data, "llama.cpp-vocab")
    for f in sorted(os.listdir(vdir)):
        if f.endswith(".inp"):
            out.extend(open(os.path.join(vdir, f), encoding="utf-8", newline="").read()
                       .split("\n__ggml_vocab_test__\n"))
    rng = random.Random(1234)
    out.extend(random_text(rng) for _ in range(n_random))
    seen, uniq = set(), []
    for t in out:
        if t and t not in seen:
            seen.add(t)
            uniq.append(t)
    return uniq


def ranges(pattern, all_cps):
    """Code point ranges matched by a one-character class pattern in all_cps (every code point
    but the surrogates, in order)."""
    cp = lambda i: i if i < 0xD800 else i + 0x800
    out = []
    for m in regex.finditer("(?:%s)+" % pattern, all_cps):
        lo, hi = cp(m.start()), cp(m.end() - 1)
        if lo < 0xD800 <= hi:                    # a run across the surrogate gap
            out.extend([(lo, 0xD7FF), (0xE000, hi)])
        else:
            out.append((lo, hi))
    return out


def main():
    data, path = sys.argv[1], sys.argv[2]
    n_random = int(sys.argv[3]) if len(sys.argv) > 3 else 1500
    fams = families(data)
    compare = os.environ.get("PRETOK_COMPARE") == "1"   # also run llama.cpp's forms, report differences
    differ = {}
    with open(path, "w", encoding="ascii") as f:
        all_cps = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
        for name, pat in [("L", r"\p{L}"), ("N", r"\p{N}"), ("S", r"\s"), ("P", r"\p{P}")]:
            f.write("C %s %s\n" % (name, " ".join("%x-%x" % r for r in ranges(pat, all_cps))))
        for t in texts(data, n_random):
            f.write("T %s\n" % t.encode("utf-8").hex())
            for kind, name, hf, lcpp in fams:
                pieces = split(t, hf or lcpp)
                assert "".join(pieces) == t
                if compare and hf and split(t, lcpp) != pieces:
                    differ.setdefault(name, []).append(t)
                f.write("K %d %s\n" % (kind, ",".join(str(len(p.encode("utf-8"))) for p in pieces)))
    for name, ts in differ.items():
        sys.stderr.write("pretok_ref: %s: llama.cpp's pattern splits %d texts differently, e.g. %r\n"
                         % (name, len(ts), ts[0][:60]))


if __name__ == "__main__":
    main()
