#!/usr/bin/env python3
"""Extract the small text slices used by the sentence-embedding tests and benchmark.

Writes, relative to this script's directory (test-models/data/):

  kjv/calibration.txt  + .refs   1024 verses, Genesis 1:1 - Deuteronomy 34:12, seed 15
  kjv/evaluation.txt   + .refs   2000 verses, Matthew 1:1 - Revelation 22:21, seed 16
  kjv/provenance.json
  wordnet/nouns.tsv              3000 WordNet 3.0 noun synsets, seed 17
  wordnet/LICENSE                the WordNet 3.0 licence (required on all copies)
  wordnet/provenance.json

Needs the Debian packages bible-kjv (command `bible`) and wordnet-base
(/usr/share/wordnet) and python3's standard library only. Tests never run this:
they read the committed outputs and check the SHA-256 sums in provenance.json.

Sampling, identical to java.util.Random: indices a = [0, 1, ..., n-1];
for i in 0 .. k-1: j = i + rnd.nextInt(n - i); swap a[i], a[j]. The first k
entries of a, in that (drawn) order, are the sample. This is the same partial
Fisher-Yates as ai.djl.nupes.data.SubsetBundler, except the sample is not sorted.

Usage: python3 make-text-slices.py [--check-java]
  --check-java   also run the same draws in jshell and fail unless they agree.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BIBLE_DATA = "/usr/lib/bible.data"
WORDNET_NOUNS = "/usr/share/wordnet/data.noun"
BIBLE_COPYRIGHT = "/usr/share/doc/bible-kjv/copyright"
WORDNET_COPYRIGHT = "/usr/share/doc/wordnet-base/copyright"


class JavaRandom:
    """java.util.Random: the 48-bit LCG and its legacy nextInt(bound)."""

    MULTIPLIER = 0x5DEECE66D
    ADDEND = 0xB
    MASK = (1 << 48) - 1

    def __init__(self, seed):
        self.seed = (seed ^ self.MULTIPLIER) & self.MASK

    def next(self, bits):
        self.seed = (self.seed * self.MULTIPLIER + self.ADDEND) & self.MASK
        r = (self.seed >> (48 - bits)) & 0xFFFFFFFF  # (int) cast: low 32 bits ...
        return r - (1 << 32) if r >= (1 << 31) else r  # ... as a signed int

    def next_int(self, bound):
        if bound <= 0:
            raise ValueError("bound must be positive")
        r = self.next(31)
        m = bound - 1
        if bound & m == 0:  # power of two: the high bits
            return (bound * r) >> 31
        u = r
        r = u % bound
        while u - r + m > 0x7FFFFFFF:  # Java: u - r + m < 0 (int overflow) -> reject
            u = self.next(31)
            r = u % bound
        return r


def draw(n, k, seed):
    """Partial Fisher-Yates: k distinct indices of range(n), in drawn order."""
    if k > n:
        raise ValueError(f"cannot draw {k} of {n}")
    rnd = JavaRandom(seed)
    a = list(range(n))
    for i in range(k):
        j = i + rnd.next_int(n - i)
        a[i], a[j] = a[j], a[i]
    return a[:k]


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_lines(path, lines):
    for line in lines:
        if not line or "\n" in line or "\r" in line:
            raise ValueError(f"{path}: bad line {line!r}")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(line + "\n" for line in lines))


def file_record(directory, name):
    path = os.path.join(directory, name)
    with open(path, "rb") as f:
        data = f.read()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "lines": data.count(b"\n")}


def package_version(name):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name],
                         check=True, capture_output=True, text=True).stdout.strip()
    if not out:
        raise RuntimeError(f"package {name} is not installed")
    return out


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------------------- KJV

REF = re.compile(r"^((?:[1-3])?[A-Z][a-z]*)(\d+):(\d+) (.*)$")


def bible_verses(spec, expected):
    """Runs `bible -f SPEC`; returns (refs, texts, stats)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["LC_ALL"] = "C"
    out = subprocess.run(["bible", "-f", spec], check=True, capture_output=True, env=env,
                         stdin=subprocess.DEVNULL).stdout
    text = out.decode("ascii")  # the KJV data is plain ASCII; anything else is an error
    refs, texts = [], []
    continuation = 0
    for line in text.split("\n"):
        if line == "":
            continue
        m = REF.match(line)
        if m:
            refs.append(f"{m.group(1)}{m.group(2)}:{m.group(3)}")
            texts.append(m.group(4))
        elif refs:  # a wrapped verse (bible -l<cols>): belongs to the previous reference
            texts[-1] += " " + line
            continuation += 1
        else:
            raise RuntimeError(f"bible {spec}: first line has no reference: {line!r}")
    normalized = []
    for i, t in enumerate(texts):
        clean = " ".join(t.split())  # collapse whitespace runs, strip the ends
        if clean != t:
            normalized.append(refs[i])
            texts[i] = clean
        if not clean:
            raise RuntimeError(f"{refs[i]}: empty verse")
    if len(refs) != expected or len(set(refs)) != len(refs):
        raise RuntimeError(f"bible {spec}: {len(refs)} verses ({len(set(refs))} distinct), expected {expected}")
    return refs, texts, {"continuation_lines_joined": continuation, "whitespace_normalized_refs": normalized}


KJV_SLICES = [
    # name, verse spec, verses in the range, seed, count
    ("calibration", "Gen1:1-Deu34:12", 5852, 15, 1024),
    ("evaluation", "Mat1:1-Rev22:21", 7957, 16, 2000),
]


def make_kjv(script_sha):
    out_dir = os.path.join(HERE, "kjv")
    os.makedirs(out_dir, exist_ok=True)
    slices = {}
    files = {}
    draws = []
    for name, spec, total, seed, count in KJV_SLICES:
        refs, texts, stats = bible_verses(spec, total)
        chosen = draw(total, count, seed)
        draws.append((total, count, seed, chosen))
        write_lines(os.path.join(out_dir, name + ".txt"), [texts[i] for i in chosen])
        write_lines(os.path.join(out_dir, name + ".refs"), [refs[i] for i in chosen])
        slices[name] = {
            "command": ["bible", "-f", spec],
            "source_verses": total,
            "seed": seed,
            "count": count,
            "text_file": name + ".txt",
            "refs_file": name + ".refs",
            **stats,
            "whitespace_normalized_refs_drawn": [r for r in stats["whitespace_normalized_refs"]
                                                 if r in {refs[i] for i in chosen}],
        }
        for f in (name + ".txt", name + ".refs"):
            files[f] = file_record(out_dir, f)
    with open(BIBLE_COPYRIGHT, encoding="utf-8") as f:
        copyright_text = f.read()
    note = ("The copyright for the King James Version text of the Bible is expired since\n"
            "the  translation was done in 1611 under King James the first of Great\n"
            "Britain.")
    if note not in copyright_text:
        raise RuntimeError(f"{BIBLE_COPYRIGHT} no longer carries the expected note")
    provenance = {
        "dataset": "King James Version (1611) Bible text, verse slices",
        "source": {
            "packages": [
                {"name": "bible-kjv", "version": package_version("bible-kjv")},
                {"name": "bible-kjv-text", "version": package_version("bible-kjv-text")},
            ],
            "data_file": BIBLE_DATA,
            "data_sha256": sha256_file(BIBLE_DATA),
        },
        "license": {
            "name": "Public domain (KJV text); the bible-kjv retrieval software is GPL-2+ and is not shipped",
            "source": BIBLE_COPYRIGHT,
            "quote": note,
        },
        "procedure": (
            "For each slice: run `bible -f <range>` (COLUMNS/LINES unset, LC_ALL=C, stdin /dev/null), "
            "which prints one verse per line as '<Book><chapter>:<verse> <text>'. Each line is split into "
            "the reference and the text; a line without a leading reference would be a wrapped continuation "
            "and is appended to the previous verse with one space (none occur). Whitespace runs in the text "
            "are collapsed to one space and the ends trimmed. The range must yield exactly source_verses "
            "distinct references. Then draw `count` verse indices (0-based, in the order bible prints them) "
            "with java.util.Random(seed) partial Fisher-Yates: a=[0..n-1]; for i in 0..count-1: "
            "j = i + rnd.nextInt(n - i); swap a[i], a[j]; keep a[0..count-1] in drawn order. "
            "<name>.txt holds the texts, <name>.refs the references, line for line."
        ),
        "generator": {"script": "test-models/data/make-text-slices.py", "sha256": script_sha},
        "slices": slices,
        "files": files,
    }
    write_json(os.path.join(out_dir, "provenance.json"), provenance)
    return draws


# ------------------------------------------------------------------------ WordNet


def parse_data_noun(path):
    """Yields (offset, first_lemma, gloss) per synset line of a wndb(5) data file."""
    with open(path, encoding="ascii") as f:  # WordNet 3.0 data files are ASCII
        for line in f:
            if line.startswith("  "):  # the licence header
                continue
            head, sep, gloss = line.rstrip("\n").partition(" | ")
            if not sep:
                raise RuntimeError(f"no gloss: {line[:40]!r}")
            fields = head.split(" ")
            offset, w_cnt, word = fields[0], int(fields[3], 16), fields[4]
            if fields[2] != "n" or w_cnt < 1 or len(offset) != 8:
                raise RuntimeError(f"unexpected synset line: {line[:40]!r}")
            lemma = word.replace("_", " ")
            definition = gloss.split('; "', 1)[0].strip()
            yield offset, lemma, definition


NOUN_SEED = 17
NOUN_COUNT = 3000
MAX_LEMMA_WORDS = 3
MIN_GLOSS_WORDS = 3


def make_wordnet(script_sha):
    out_dir = os.path.join(HERE, "wordnet")
    os.makedirs(out_dir, exist_ok=True)
    synsets = 0
    kept = []
    seen = set()
    dropped = {"lemma_over_3_words": 0, "gloss_under_3_words": 0, "duplicate_lemma": 0}
    for offset, lemma, gloss in parse_data_noun(WORDNET_NOUNS):
        synsets += 1
        if len(lemma.split()) > MAX_LEMMA_WORDS:
            dropped["lemma_over_3_words"] += 1
        elif len(gloss.split()) < MIN_GLOSS_WORDS:
            dropped["gloss_under_3_words"] += 1
        elif lemma.lower() in seen:
            dropped["duplicate_lemma"] += 1
        else:
            seen.add(lemma.lower())
            kept.append((offset, lemma, gloss))
    chosen = draw(len(kept), NOUN_COUNT, NOUN_SEED)
    rows = [kept[i] for i in chosen]
    for row in rows:
        if any("\t" in c or not c for c in row):
            raise RuntimeError(f"bad row {row!r}")
    write_lines(os.path.join(out_dir, "nouns.tsv"), ["\t".join(r) for r in rows])

    # The licence: the 'License: WordNet3.0' paragraph of the Debian copyright file,
    # decoded from its deb822 layout (one leading space removed, ' .' = empty line).
    with open(WORDNET_COPYRIGHT, encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = lines.index("License: WordNet3.0") + 1
    body = []
    for line in lines[start:]:
        if not line.startswith(" "):
            break
        body.append("" if line == " ." else line[1:])
    licence = "\n".join(body) + "\n"
    # Cross-check: the same text heads data.noun ('  <n> <text>  ' per line).
    with open(WORDNET_NOUNS, encoding="ascii") as f:
        header = []
        for line in f:
            if not line.startswith("  "):
                break
            header.append(re.sub(r"^  \d+ ?", "", line.rstrip("\n")).rstrip())
    if header != body:
        raise RuntimeError("the licence in the copyright file differs from the data.noun header")
    with open(os.path.join(out_dir, "LICENSE"), "w", encoding="utf-8", newline="\n") as f:
        f.write(licence)

    files = {name: file_record(out_dir, name) for name in ("nouns.tsv", "LICENSE")}
    provenance = {
        "dataset": "WordNet 3.0 noun synsets: offset, first lemma, definition",
        "source": {
            "packages": [{"name": "wordnet-base", "version": package_version("wordnet-base")}],
            "data_file": WORDNET_NOUNS,
            "data_sha256": sha256_file(WORDNET_NOUNS),
        },
        "license": {
            "name": "WordNet 3.0 license (Princeton University); see LICENSE, which must accompany copies",
            "file": "LICENSE",
            "source": WORDNET_COPYRIGHT + " (paragraph 'License: WordNet3.0', deb822 indentation removed, "
                                          "' .' lines as empty lines; identical to the data.noun header)",
        },
        "procedure": (
            "Read data.noun (wndb(5)) in file order (ascending synset_offset), skipping the licence header "
            "(lines starting with two spaces). Per synset: offset = field 1 (8 digits), lemma = the first "
            "word (field 5) with '_' replaced by ' ', gloss = the text after ' | ' cut at the first '; \"' "
            "(start of the example quotes) and trimmed. Filter, in this order: keep only lemmas of at most 3 "
            "whitespace-separated words, and glosses of at least 3 whitespace-separated words; then drop a "
            "synset whose lemma, lower-cased, was already kept (the first synset in file order wins), so "
            "every lemma is unique case-insensitively. From the kept list draw `count` indices with "
            "java.util.Random(seed) partial Fisher-Yates: a=[0..n-1]; for i in 0..count-1: "
            "j = i + rnd.nextInt(n - i); swap a[i], a[j]; keep a[0..count-1] in drawn order. "
            "nouns.tsv: 'offset<TAB>lemma<TAB>gloss' per line, no header."
        ),
        "filter": {
            "max_lemma_words": MAX_LEMMA_WORDS,
            "min_gloss_words": MIN_GLOSS_WORDS,
            "unique_lemma": "case-insensitive, first in file order wins",
            "source_synsets": synsets,
            "dropped": dropped,
            "kept": len(kept),
        },
        "seed": NOUN_SEED,
        "count": NOUN_COUNT,
        "generator": {"script": "test-models/data/make-text-slices.py", "sha256": script_sha},
        "files": files,
    }
    write_json(os.path.join(out_dir, "provenance.json"), provenance)
    return [(len(kept), NOUN_COUNT, NOUN_SEED, chosen)]


# --------------------------------------------------------------- Java cross-check


def check_java(draws):
    """Runs the same partial Fisher-Yates in jshell; raises unless every index agrees."""
    calls = "\n".join(f"draw({n}, {k}, {seed}L);" for n, k, seed, _ in draws)
    program = f"""
void draw(int n, int k, long seed) {{
    java.util.Random rnd = new java.util.Random(seed);
    int[] a = new int[n];
    for (int i = 0; i < n; i++) a[i] = i;
    for (int i = 0; i < k; i++) {{ int j = i + rnd.nextInt(n - i); int t = a[i]; a[i] = a[j]; a[j] = t; }}
    StringBuilder sb = new StringBuilder("DRAW");
    for (int i = 0; i < k; i++) sb.append(' ').append(a[i]);
    System.out.println(sb);
}}
void raw(long seed) {{
    java.util.Random r = new java.util.Random(seed);
    StringBuilder sb = new StringBuilder("RAW");
    for (int b : new int[] {{1, 2, 3, 7, 10, 1 << 20, 1073741825, 2147483647}})
        for (int i = 0; i < 4; i++) sb.append(' ').append(r.nextInt(b));
    System.out.println(sb);
}}
{calls}
raw(0L); raw(-1L); raw(42L);
/exit
"""
    with tempfile.NamedTemporaryFile("w", suffix=".jsh", delete=False) as f:
        f.write(program)
        script = f.name
    try:
        out = subprocess.run(["jshell", "-q", "--execution", "local", script],
                             check=True, capture_output=True, text=True, timeout=300).stdout
    finally:
        os.unlink(script)
    java_draws = [list(map(int, l.split()[1:])) for l in out.splitlines() if l.startswith("DRAW")]
    java_raw = [list(map(int, l.split()[1:])) for l in out.splitlines() if l.startswith("RAW")]
    if java_draws != [d[3] for d in draws]:
        raise RuntimeError("jshell draws differ from the Python ones")
    py_raw = []
    for seed in (0, -1, 42):
        r = JavaRandom(seed)
        py_raw.append([r.next_int(b) for b in (1, 2, 3, 7, 10, 1 << 20, 1073741825, 2147483647)
                       for _ in range(4)])
    if java_raw != py_raw:
        raise RuntimeError(f"jshell nextInt differs: {java_raw} vs {py_raw}")
    print(f"java check: {len(draws)} draws ({sum(d[1] for d in draws)} indices) and "
          f"{sum(len(x) for x in py_raw)} raw nextInt values agree with jshell")


def main(argv):
    script_sha = sha256_file(os.path.abspath(__file__))
    draws = make_kjv(script_sha) + make_wordnet(script_sha)
    if "--check-java" in argv:
        check_java(draws)
    for d in ("kjv", "wordnet"):
        with open(os.path.join(HERE, d, "provenance.json"), encoding="utf-8") as f:
            for name, rec in json.load(f)["files"].items():
                print(f"{d}/{name}: {rec['lines']} lines, {rec['bytes']} bytes, sha256 {rec['sha256']}")


if __name__ == "__main__":
    main(sys.argv[1:])
