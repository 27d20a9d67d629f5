#!/usr/bin/python3
# regex_cases.py: writes tests/ref/regex_fullmatch.jsonl, the oracle for tests/test_regex.c:
# for each pattern, candidate strings (hand-picked plus random ones over the pattern's alphabet)
# and whether Python's re.fullmatch (ASCII mode, where \d \w \s agree with ECMA-262 on ASCII
# text) accepts them. Patterns avoid the corners where Python and ECMA-262 differ (dot and \r,
# {,n}, non-ASCII whitespace). Rerun: /usr/bin/python3 tests/ref/regex_cases.py
import json, os, random, re

CASES = [
    (r"abc", ["abc", "ab", "abcd", ""]),
    (r"a|b|cd", ["a", "b", "cd", "c", "ab"]),
    (r"a*", ["", "a", "aaaa", "ab"]),
    (r"a+b?", ["a", "ab", "aab", "b", "abb"]),
    (r"(ab)+", ["ab", "abab", "aba", ""]),
    (r"(?:ab|cd)*e", ["e", "abcde", "abce"]),
    (r"[a-z]{2,4}", ["ab", "abcd", "a", "abcde", "aB"]),
    (r"[0-9]{3}", ["123", "12", "1234"]),
    (r"x{2,}", ["x", "xx", "xxxxx"]),
    (r"\d+(\.\d+)?", ["1", "12.5", "1.", ".5", "1.2.3"]),
    (r"\w+@\w+\.com", ["me@site.com", "a_b@c1.com", "me@site.org", "@x.com"]),
    (r"\s*\S+\s*", [" abc ", "abc", "  ", "a b"]),
    (r"[^aeiou]+", ["xyz", "xaz", "", "bcd"]),
    (r"[\d\-]+", ["1-2", "--", "1a"]),
    (r"[\w.]+", ["a.b_c", "a b"]),
    (r"[^\d\s]+", ["abc", "a1", "a b"]),
    (r"\D\W\S", ["a!b", "1!b", "a b"]),
    (r"colou?r", ["color", "colour", "colouur"]),
    (r"^(yes|no)$", ["yes", "no", "yesno"]),
    (r"a.c", ["abc", "a-c", "ac", "a\nc"]),
    (r"\(\)\[\]\{\}\*\+\?\.\|\\\/\^\$", ["()[]{}*+?.|\\/^$"]),
    (r"\x41\u00e9\t\n", ["A\u00e9\t\n", "A\u00e9\t"]),
    (r"[\u00c0-\u00ff]+", ["\u00e9t\u00e9", "\u00e9", "e"]),
    (r"caf\u00e9|\u4e2d\u6587", ["caf\u00e9", "\u4e2d\u6587", "cafe"]),
    (r"(a|b)*abb", ["abb", "aababb", "ab", "abba"]),
    (r"((a|)b)+", ["b", "abab", "aa"]),
    (r"a{0}b", ["b", "ab"]),
    (r"a{1,3}?b", ["ab", "aaab", "aaaab"]),
    (r"[-a]+", ["-a-", "b"]),
    (r"[a-]+", ["a-", "b"]),
    (r"[]a]", []),
    (r"\d{4}-\d{2}-\d{2}", ["2024-01-31", "2024-1-31", "20240131"]),
    (r"[A-Z][a-z]*( [A-Z][a-z]*)*", ["Hello World", "Hello world", "Hello"]),
    (r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?", ["0", "-12.5e+3", "01", "1e", "3.14"]),
    (r"a{,2}", []),
    (r"x{2}{3}", []),
    (r"(a*)*", ["", "a", "aaa", "ab"]),
    (r"(a|b?)+", ["", "ab", "bba", "c"]),
    (r"(ab|)*c", ["c", "ababc", "abac"]),
    (r"x(\s*,)*", ["x", "x,,", "x , ,", "x ,a"]),
    (r"(a?b?)*c", ["c", "abbac", "abcc"]),
    (r"", ["", "a"]),
    (r"a|", ["", "a", "b"]),
    (r"(?:)", ["", "x"]),
]

def alphabet(pat, extra):
    chars = set(c for c in pat if c.isprintable() and c not in "\\") | set("".join(extra)) | set("a1 -.")
    return sorted(chars)

def main():
    random.seed(7)
    out = []
    for pat, strings in CASES:
        try:
            rx = re.compile(pat, re.ASCII)
        except re.error:
            continue
        if pat in (r"[]a]", r"a{,2}"):   # Python and ECMA-262 read these differently
            continue
        cands = list(strings)
        alpha = alphabet(pat, strings)
        for _ in range(25):
            cands.append("".join(random.choice(alpha) for _ in range(random.randint(0, 8))))
        seen = set()
        for s in cands:
            if s in seen:
                continue
            seen.add(s)
            out.append({"re": pat, "text": s, "match": rx.fullmatch(s) is not None})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regex_fullmatch.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for o in out:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
    print(path, len(out), "cases")

main()
