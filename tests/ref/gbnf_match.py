#!/usr/bin/python3
"""gbnf_match.py: a small reference recogniser for GBNF (llama.cpp's grammar syntax), written
independently of the C engine: the grammar is parsed into a context-free grammar over code
points and strings are recognised with an Earley parser (nullable rules handled as Aycock and
Horspool do). Used by tests/test_schema.c as the oracle for the JSON Schema compiler.

usage:
  gbnf_match.py GRAMMAR.gbnf TEXT...         prints accept/reject per TEXT
  gbnf_match.py --cases CASES.jsonl          each line {"id":..., "gbnf": ..., "cases": [{"text":..., "valid": bool}]}
  gbnf_match.py --suite GRAMMARS.jsonl DIR   each line {"file":..., "group": i, "gbnf": ..., "skip": [i...]}: the cases of that
                                             JSON Schema Test Suite group (DIR/file), each instance serialised
                                             here with json.dumps(separators=(", ", ": "), ensure_ascii=False)
  Both print one line per disagreement, then "checked N cases, M disagree" (exit 1 if M > 0).
"""
import json
import sys


class GbnfError(Exception):
    pass


class Term:
    """A set of code points: ranges, possibly negated."""
    __slots__ = ("ranges", "neg")

    def __init__(self, ranges, neg=False):
        self.ranges = ranges
        self.neg = neg

    def match(self, c):
        cp = ord(c)
        hit = any(lo <= cp <= hi for lo, hi in self.ranges)
        return hit != self.neg


class Parser:
    def __init__(self, text):
        self.s = text
        self.p = 0
        self.rules = {}
        self.n_helper = 0

    def err(self, msg):
        line = self.s.count("\n", 0, self.p) + 1
        raise GbnfError(f"GBNF at line {line}: {msg}")

    def space(self, newline_ok):
        s = self.s
        while self.p < len(s):
            c = s[self.p]
            if c in " \t" or (newline_ok and c in "\r\n"):
                self.p += 1
            elif c == "#":
                while self.p < len(s) and s[self.p] not in "\r\n":
                    self.p += 1
            else:
                break

    def name(self):
        start = self.p
        while self.p < len(self.s) and (self.s[self.p].isalnum() or self.s[self.p] in "-_"):
            self.p += 1
        if start == self.p:
            self.err(f"expected a name at {self.s[self.p:self.p + 20]!r}")
        return self.s[start:self.p]

    def char(self):
        s = self.s
        if s[self.p] == "\\":
            e = s[self.p + 1]
            simple = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-", "/": "/", "^": "^"}
            if e in "xuU":
                n = {"x": 2, "u": 4, "U": 8}[e]
                h = s[self.p + 2:self.p + 2 + n]
                self.p += 2 + n
                return int(h, 16)
            if e in simple:
                self.p += 2
                return ord(simple[e])
            self.err(f"unknown escape \\{e}")
        c = s[self.p]
        self.p += 1
        return ord(c)

    def helper(self, alts):
        self.n_helper += 1
        name = f"_h{self.n_helper}"
        self.rules[name] = alts
        return name

    def primary(self, nested):
        s = self.s
        c = s[self.p]
        if c == '"':
            self.p += 1
            seq = []
            while s[self.p] != '"':
                cp = self.char()
                seq.append(Term([(cp, cp)]))
            self.p += 1
            return seq
        if c == "[":
            self.p += 1
            neg = s[self.p] == "^"
            if neg:
                self.p += 1
            ranges = []
            while s[self.p] != "]":
                lo = self.char()
                hi = lo
                if s[self.p] == "-" and s[self.p + 1] != "]":
                    self.p += 1
                    hi = self.char()
                ranges.append((lo, hi))
            self.p += 1
            return [Term(ranges, neg)]
        if c == ".":
            self.p += 1
            return [Term([(0x0A, 0x0A)], True)]
        if c == "(":
            self.p += 1
            self.space(True)
            alts = self.alternates(True)
            if s[self.p] != ")":
                self.err("expected )")
            self.p += 1
            return [self.helper(alts)]
        return [self.name()]

    def repeat(self, item, lo, hi):
        """item (a list of symbols) repeated lo..hi times (hi None: unbounded)."""
        x = self.helper([item])
        seq = [x] * lo
        if hi is None:
            star = self.helper([[]])
            self.rules[star].append([star, x])
            return seq + [star]
        tail = []
        for _ in range(hi - lo):
            tail = [self.helper([[], [x] + tail])]
        return seq + tail

    def sequence(self, nested):
        seq = []
        s = self.s
        while self.p < len(s) and s[self.p] not in "|)\r\n":
            item = self.primary(nested)
            c = s[self.p] if self.p < len(s) else ""
            if c == "*":
                self.p += 1
                item = self.repeat(item, 0, None)
            elif c == "+":
                self.p += 1
                item = self.repeat(item, 1, None)
            elif c == "?":
                self.p += 1
                item = self.repeat(item, 0, 1)
            elif c == "{":
                end = s.index("}", self.p)
                body = s[self.p + 1:end]
                self.p = end + 1
                if "," in body:
                    a, b = body.split(",")
                    item = self.repeat(item, int(a), int(b) if b.strip() else None)
                else:
                    item = self.repeat(item, int(body), int(body))
            seq += item
            self.space(nested)
        return seq

    def alternates(self, nested):
        alts = [self.sequence(nested)]
        while self.p < len(self.s) and self.s[self.p] == "|":
            self.p += 1
            self.space(True)
            alts.append(self.sequence(nested))
        return alts

    def parse(self):
        self.space(True)
        while self.p < len(self.s):
            name = self.name()
            self.space(False)
            if not self.s.startswith("::=", self.p):
                self.err("expected ::=")
            self.p += 3
            self.space(True)
            self.rules[name] = self.alternates(False)
            self.space(True)
        for alts in self.rules.values():
            for a in alts:
                for sym in a:
                    if isinstance(sym, str) and sym not in self.rules:
                        raise GbnfError(f"undefined rule {sym}")
        return self.rules


class Grammar:
    def __init__(self, text):
        rules = Parser(text).parse()
        self.alts = []            # (lhs, symbols)
        self.by_lhs = {}
        for lhs, alts in rules.items():
            for a in alts:
                self.by_lhs.setdefault(lhs, []).append(len(self.alts))
                self.alts.append((lhs, a))
        self.nullable = set()
        changed = True
        while changed:
            changed = False
            for lhs, syms in self.alts:
                if lhs not in self.nullable and all(isinstance(x, str) and x in self.nullable for x in syms):
                    self.nullable.add(lhs)
                    changed = True

    def accepts(self, text, start="root"):
        n = len(text)
        chart = [set() for _ in range(n + 1)]
        waiting_at = []
        for a in self.by_lhs[start]:
            chart[0].add((a, 0, 0))
        for i in range(n + 1):
            items = chart[i]
            agenda = list(items)
            waiting = {}      # nonterminal -> items at i waiting for it
            if not agenda:
                return False

            def add(item):
                if item not in items:
                    items.add(item)
                    agenda.append(item)

            while agenda:
                a, d, o = agenda.pop()
                lhs, syms = self.alts[a]
                if d == len(syms):
                    if o == i:
                        continue  # nullable completions were advanced at prediction time
                    for (a2, d2, o2) in list(waiting_at[o].get(lhs, ())):
                        add((a2, d2 + 1, o2))
                    continue
                sym = syms[d]
                if isinstance(sym, str):
                    waiting.setdefault(sym, []).append((a, d, o))
                    for b in self.by_lhs[sym]:
                        add((b, 0, i))
                    if sym in self.nullable:
                        add((a, d + 1, o))
                elif i < n and sym.match(text[i]):
                    chart[i + 1].add((a, d + 1, o))
            waiting_at.append(waiting)
        return any(self.alts[a][0] == start and d == len(self.alts[a][1]) and o == 0 for (a, d, o) in chart[n])


def suite_cases(path, suite_dir):
    files = {}
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        doc = json.loads(line)
        if doc["file"] not in files:
            files[doc["file"]] = json.load(open(f"{suite_dir}/{doc['file']}", encoding="utf-8"))
        group = files[doc["file"]][doc["group"]]
        skip = set(doc.get("skip", []))
        cases = [{"text": json.dumps(t["data"], separators=(", ", ": "), ensure_ascii=False), "valid": t["valid"]}
                 for i, t in enumerate(group["tests"]) if i not in skip]
        yield {"id": f"{doc['file']} / {group['description']}", "gbnf": doc["gbnf"], "cases": cases}


def main():
    if len(sys.argv) >= 3 and sys.argv[1] in ("--cases", "--suite"):
        checked = bad = 0
        if sys.argv[1] == "--suite":
            docs = suite_cases(sys.argv[2], sys.argv[3])
        else:
            docs = (json.loads(line) for line in open(sys.argv[2], encoding="utf-8") if line.strip())
        for doc in docs:
            try:
                g = Grammar(doc["gbnf"])
            except GbnfError as e:
                print(f"{doc['id']}: grammar does not parse: {e}")
                bad += 1
                continue
            for c in doc["cases"]:
                checked += 1
                got = g.accepts(c["text"])
                if got != c["valid"]:
                    bad += 1
                    print(f"{doc['id']}: {c['text']!r}: expected {'accept' if c['valid'] else 'reject'}, got {'accept' if got else 'reject'}")
        print(f"checked {checked} cases, {bad} disagree")
        sys.exit(1 if bad else 0)
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    g = Grammar(open(sys.argv[1], encoding="utf-8").read())
    for t in sys.argv[2:]:
        print("accept" if g.accepts(t) else "reject")


if __name__ == "__main__":
    main()
