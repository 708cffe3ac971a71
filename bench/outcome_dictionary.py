"""Dictionary definitions for the outcome benchmark: one word, two dictionaries written a century apart.

  dictionary: anchor = an English headword ("abacus"); its definition in WordNet 3.0 (Princeton, 2006)
              and in GCIDE (GNU Collaborative International Dictionary of English, mostly Webster's
              1913) are two independent paraphrases of one meaning. A seeded coin per word makes one
              the positive and the other the corpus paraphrase, so that neither style marks the
              positive. Group = the word's first 5 letters, so that words of one stem ("abandon",
              "abandonment") never straddle the split; meaning = the word.

WordNet side: the word's most frequent part of speech (the tag counts of cntlist.rev summed over its
senses; ties go noun > verb > adj > adv), its first sense in index.POS order, the gloss before the
examples. GCIDE side: the first entry of the same part of speech whose own headword is the word (not an
inflection filed under another entry), its first sense that is not obsolete and not a cross-reference
("See X", "Same as X", "imp. & p. p. of X"), written for Webster (a sense that GCIDE took from WordNet
1.5, or that its modern editors added, would not be independent), stripped of pronunciation,
etymology, labels, quotations, citations and "as, ..." examples.

Distractors: one definition (seeded mix of both dictionaries) of each of other words, from groups no
row uses and from no synset a row's word belongs to, so that none answers a test anchor.

Run as a script: `python bench/outcome_dictionary.py [CACHE_DIR]` (default bench/.data/outcome).
"""

from __future__ import annotations

import collections
import gzip
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from outcome_data import ROOT, SEED, _cached, _split_by_group, _squash, _truncate

PACKAGES = ("wordnet-base", "dict-gcide")
TEST_ROWS, TRAIN_ROWS, DISTRACTORS = 1200, 4800, 3600
MIN_CHARS = 25  # definitions are short: "A calculating table or frame" is 28
GROUP_PREFIX = 5
NEAR_COPY = 0.8
WORD = re.compile(r"[a-z]{4,}")
POS_ORDER = ("noun", "verb", "adj", "adv")  # also the tie-break for the most frequent part of speech
WN_SS_TYPE = {"1": "noun", "2": "verb", "3": "adj", "4": "adv", "5": "adj"}  # 5: adjective satellite
DICTD_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


# ------------------------------------------------------------------------------------------ fetch


def _fetch_debs(work: Path) -> Path:
    """Download the two .debs and unpack them under `work`/root; nothing is installed."""
    for attempt in range(2):
        result = subprocess.run(["apt-get", "download", "-q", *PACKAGES], cwd=work, capture_output=True, text=True)
        if result.returncode == 0:
            break
        if attempt == 0:  # lists may be stale or missing; keep the en translations debian() reads
            subprocess.run(["apt-get", "update", "-qq", "-o", "Acquire::Languages=en"], check=False,
                           stdout=subprocess.DEVNULL)
    else:
        raise RuntimeError(f"apt-get download failed: {result.stderr[-2000:]}")
    root = work / "root"
    for deb in sorted(work.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


# ---------------------------------------------------------------------------------------- wordnet


def _first_definition(gloss: str) -> str:
    """The definitions of a WordNet gloss, before its first quoted example ('; "he abandoned...'), less a
    leading usage note such as "(usually followed by `to')"."""
    text = re.split(r'\s*(?:[;:]|e\.g\.,?)\s*"', gloss, maxsplit=1)[0]
    text = re.sub(r"^\s*\([^()]*\)\s*", "", text)
    return _squash(text).rstrip(" ;:,")


def _wordnet_synsets(root: Path, pos: str) -> dict[int, tuple[list[str], str]]:
    """offset -> (word forms, gloss) of data.POS; the forms keep their case (a capital marks a proper noun)."""
    synsets = {}
    with open(root / f"usr/share/wordnet/data.{pos}", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):  # the licence header
                continue
            fields, _, gloss = line.partition(" | ")
            parts = fields.split()
            count = int(parts[3], 16)
            forms = [re.sub(r"\(\w+\)$", "", w) for w in parts[4: 4 + 2 * count: 2]]  # adjective markers "(a)"
            synsets[int(parts[0])] = (forms, gloss.strip())
    return synsets


def _tag_counts(root: Path) -> dict[tuple[str, str], int]:
    """(lemma, part of speech) -> tagged occurrences in the semantic concordances, over all senses."""
    counts: dict[tuple[str, str], int] = collections.Counter()
    with open(root / "usr/share/wordnet/cntlist.rev", encoding="utf-8") as f:
        for line in f:
            key, _, count = line.split()
            lemma, _, rest = key.partition("%")
            counts[(lemma, WN_SS_TYPE[rest[0]])] += int(count)
    return counts


def _wordnet(root: Path, stats: dict) -> dict[str, tuple[str, str, str]]:
    """word -> (part of speech, synset key, definition) of its first sense in its most frequent part of speech."""
    first_sense: dict[str, dict[str, int]] = collections.defaultdict(dict)
    for pos in POS_ORDER:
        with open(root / f"usr/share/wordnet/index.{pos}", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if not line.startswith("  ") and WORD.fullmatch(parts[0]):
                    first_sense[parts[0]][pos] = int(parts[-int(parts[2])])  # the offsets close the line
    synsets = {pos: _wordnet_synsets(root, pos) for pos in POS_ORDER}
    tags = _tag_counts(root)
    found = {}
    for word in sorted(first_sense):
        senses = first_sense[word]
        pos = max(senses, key=lambda p: (tags.get((word, p), 0), -POS_ORDER.index(p)))
        forms, gloss = synsets[pos][senses[pos]]
        form = next((f for f in forms if f.lower() == word), word)
        if form != word:
            stats["wordnet_proper_noun"] += 1
            continue
        found[word] = (pos, f"{pos}:{senses[pos]}", _first_definition(gloss))
    stats["wordnet_words"] = len(found)
    return found


# ------------------------------------------------------------------------------------------ gcide

# GCIDE's ASCII codes for letters and signs; a code not listed is dropped with the other brackets.
_NAMED = {
    "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aum": "ä", "eth": "ð", "th": "þ", "ng": "ŋ", "deg": "°",
    "sect": "§", "root": "√", "yogh": "ȝ", "imac": "ī", "para": "¶", "min": "′", "sec": "″", "flat": "♭",
    "sharp": "♯", "nbsp": " ", "rarr": "→", "bar": "|", "cre": "˘", "sharpe": "♯", "frac12": "½",
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ", "eta": "η",
    "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π",
    "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
}
_MARKS = {"'": "\u0301", "`": "\u0300", '"': "\u0308", "^": "\u0302", "~": "\u0303", ",": "\u0327",
          "=": "\u0304", "-": "\u0304", ".": "\u0307"}
_CODE = re.compile(
    r"\[(?:(?P<mark>['`\"^~,=.-])(?P<base>[A-Za-z]{1,2})|(?P<breve>[A-Za-z])\^|(?P<name>[A-Za-z]+\d*))\]")
_SOURCE_TAG = re.compile(r"^\s*\[[^\[\]]*(?:Webster|WordNet|PJC|Century|RDH|RHUD|AS|MW10|MI11|\+)[^\[\]]*\]\s*$")
_OBSOLETE = re.compile(r"\[(?:Obs|Archaic|archaic|Obsolesc)")
_CROSS_REFERENCE = re.compile(
    r"^(?:[Ss]ee\b|[Ss]ame as\b|[Aa]lt\.|[Aa]lternative (?:of|form|spelling)\b|[Pp]lural of\b|[Pp]l\.|imp\.|"
    r"p\. ?p\.|p\. ?pr\.|pret\.|of\b|[Oo]bs\.|(?:An?|The) (?:\w+ )?(?:variant|spelling|form|contraction|"
    r"abbreviation|corruption|misspelling) of\b|(?:[Vv]ariant|[Cc]ontraction|[Aa]bbreviation) of\b|[Aa]bbrev\.)")
_POS = [(re.compile(p), pos) for p, pos in (
    (r"^n\.", "noun"), (r"^v\. ?[it]\.", "verb"), (r"^v\.", "verb"), (r"^(?:a|adj|p\. ?a)\.", "adj"),
    (r"^adv\.", "adv"))]
# A header's headword(s) and their pronunciation: `Abraum \A*braum"\ or Abraum salts \A*braum" salts\`.
_HEADWORDS = re.compile(r"^(?:[^\\\n\[\]{}()]+?\s*\\[^\\\n]*\\\s*(?:,|\bor\b|&)?\s*)+")
_SENSE = re.compile(r"\s*(?:\d+\.|\([a-z]\))\s")


def _dictd_number(digits: str) -> int:
    value = 0
    for digit in digits:
        value = value * 64 + DICTD_DIGITS.index(digit)
    return value


def _letters(text: str) -> str:
    """GCIDE's bracket codes (["o], ['e], [ae], [beta]) as the letters they stand for."""
    def letter(match: re.Match) -> str:
        if match.group("mark"):
            return unicodedata.normalize("NFC", match.group("base") + _MARKS[match.group("mark")])
        if match.group("breve"):
            return unicodedata.normalize("NFC", match.group("breve") + "\u0306")
        return _NAMED.get(match.group("name"), match.group(0))
    return _CODE.sub(letter, text)


def _balanced(text: str, i: int, open_: str, close: str) -> int:
    """The index after the bracket that closes the one at `i`, or -1."""
    depth = 0
    for j in range(i, len(text)):
        depth += (text[j] == open_) - (text[j] == close)
        if depth == 0:
            return j + 1
    return -1


# Header material: pronunciations, parts of speech and inflections ("n.; E. pl. {Abacuses}; L. pl.
# {Abaci}"), etymology and source tags in brackets, field labels in parentheses.
_HEADER_TOKEN = re.compile(r"\s+|[,;.&]|or\b|[A-Za-z]{1,5}\.|interj\.|superl\.|compar\.|\{[^{}]*\}|\\[^\\]*\\")
# A line that opens so continues the header: "pl. {Abaci} (-s[imac])", "{Hooves} (h[=oo]vz). [OE.".
_HEADER_LINE = re.compile(r"\s*(?:[\[{\\]|(?:pl|n|a|v|adv|adj|imp|p|pr|vb|obs|interj|prep|conj|pron|superl|compar|"
                          r"sing)\.|or\b|&)")


def _only_header(line: str) -> bool:
    """Whether the line is header material to its end ("(Law)", "([a^]n`thr[-o]*p[-o]), a.")."""
    i = 0
    while i < len(line):
        if line[i] in "([":
            i = _balanced(line, i, line[i], ")" if line[i] == "(" else "]")
            if i < 0:
                return False
        elif (token := _HEADER_TOKEN.match(line, i)) and token.group(0):
            i = token.end()
        else:
            return False
    return True


def _header_end(text: str) -> int:
    """Where the definitions start in an entry. A definition starts on a line of its own, so the header
    is the first line and each next one that continues it: inside a bracket left open, opening with
    header material, or nothing else. A blank line or a sense number ("1. ", "(a) ") ends it."""
    square, paren, pos = 0, 0, 0  # counted apart: a stray ")" must not close an etymology's "["
    for n, line in enumerate(text.splitlines(keepends=True)):
        if n and square <= 0 and paren <= 0 and (not line.strip() or _SENSE.match(line) or not (
                _HEADER_LINE.match(line) or _only_header(line))):
            return pos
        square += line.count("[") - line.count("]")
        paren += line.count("(") - line.count(")")
        pos += len(line)
    return pos


def _part_of_speech(header: str) -> str:
    """noun, verb, adj, adv or "" from an entry's header ("Abandon \\A*ban"don\\, v. t. [...]")."""
    match = _HEADWORDS.match(header)
    rest = header[match.end():] if match else header
    rest = re.sub(r"^\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*,?\s*", "", rest).lstrip(" ,")  # "(pron), n."
    return next((pos for pattern, pos in _POS if pattern.match(rest)), "")


def _blocks(body: str) -> Iterator[tuple[str, str]]:
    """(definition text, source tag) of the unnumbered definition and each numbered sense or lettered
    sub-sense. A block ends at a blank line, a source tag or the next sense; other paragraphs (Note:,
    Syn:, phrases, quotations) are not definitions. The tag is the next one after the block."""
    lines = body.split("\n")
    first = lines[0].strip() if lines else ""
    starts = [0] if first and not _SENSE.match(first) and not re.match(r"Note:|Syn:|Usage:|\{", first) else []
    starts += [i for i, line in enumerate(lines) if _SENSE.match(line)]
    for start in starts:
        number = _SENSE.match(lines[start])
        text = [lines[start][number.end():] if number else lines[start]]
        end = start + 1
        while end < len(lines) and lines[end].strip() and not _SOURCE_TAG.match(lines[end]) \
                and not _SENSE.match(lines[end]):
            text.append(lines[end])
            end += 1
        tag = next((line.strip() for line in lines[end:] if _SOURCE_TAG.match(line)), "")
        yield _squash(" ".join(text)), tag


# Where the definition ends: a quotation opening a sentence, a citation or usage note ("--Shak.",
# "-- used in..."), an example ("; as, a sly dog"), a bracket left open.
_DEFINITION_END = re.compile(r'(?<=[.;:!?])\s+"(?=\S)|(?:^|\s)--(?!-)|[;,:]?\s+as,\s|\[')
_REFERENCE = re.compile(r"(?:(?<=[.;,])|\s(?=\())\s*\(?(?:See|Cf\.|Same as)\s")  # ". See Illust. of Capital."


def _clean_definition(text: str) -> str:
    """Just the definition sentence(s): no bracketed note ([Obs.], [Written also ...]), quotation,
    citation, usage note, example, trailing reference ("See {Column}.") or field label ((Zool.))."""
    text = _letters(text)
    while (stripped := re.sub(r"\[[^\[\]]*\]", "", text)) != text:
        text = stripped
    text = text.replace("{", "").replace("}", "")
    text = _DEFINITION_END.split(text, maxsplit=1)[0]
    text = _REFERENCE.split(text, maxsplit=1)[0]
    text = re.sub(r"\([^A-Za-z()]*\)", "", text)  # a metre drawn in signs: "(--- )"
    text = re.sub(r"^\s*\(+\(", "(", text)  # a doubled parenthesis: "((Mil.) Formerly"
    while (stripped := re.sub(r"^\s*\([^()]{0,40}\)", "", text)) != text:  # leading labels, nested ones too
        text = stripped
    text = re.sub(r"\s+(?=[;,.:](?:\s|$))", "", text)  # where a note was cut out: "laid on its side ."
    text = re.sub(r"([;,])(?:\s*[;,])+", r"\1", text)  # "devolving;; devolution"
    # what introduced the lettered senses: "A parasite inhabiting the blood; esp.:"
    text = re.sub(r"(?i)[.;,:]?\s*\b(?:specifically|especially|esp\.|hence|also)[.:,]?\s*$", "", _squash(text))
    return text.lstrip(" ;:,.").rstrip(" ;:,")


def _gcide_definition(entry: str) -> tuple[str, str]:
    """(definition, "") of the entry's first definition written for Webster, neither obsolete nor a
    cross-reference, or ("", why there is none)."""
    reason = "gcide_no_definition"
    for raw, tag in _blocks(entry[_header_end(entry):]):
        if "WordNet" in tag or "Webster" not in tag:
            reason = "gcide_not_webster"
        elif _OBSOLETE.search(raw):
            reason = "gcide_obsolete"
        elif not (text := _clean_definition(raw)):
            reason = "gcide_empty_after_cleaning"
        elif _CROSS_REFERENCE.match(text):
            reason = "gcide_cross_reference"
        elif re.search("[?\ufffd]", text) or text.count("(") != text.count(")") or text.count('"') % 2:
            reason = "gcide_unreadable"  # "?" stands for a letter the transcribers could not read
        else:
            return text, ""
    return "", reason


def _gcide_entries(root: Path) -> Iterator[str]:
    """Each entry's text once, in file order (the index files an entry under each of its forms)."""
    share = root / "usr/share/dictd"
    spans = set()
    with open(share / "gcide.index", encoding="utf-8") as f:
        for line in f:
            _, offset, length = line.rstrip("\n").split("\t")
            spans.add((_dictd_number(offset), _dictd_number(length)))
    with gzip.open(share / "gcide.dict.dz") as f:  # dictzip is gzip with an index of chunks
        data = f.read()
    for offset, length in sorted(spans):
        yield data[offset: offset + length].decode("utf-8", errors="replace")


def _gcide(root: Path, wanted: dict[str, str], stats: dict) -> dict[str, str]:
    """word -> definition, for the words of `wanted` (word -> part of speech): from the first entry of
    that part of speech whose own first headword is the word (not an inflection filed under another
    entry) and that has a usable definition; `stats` counts why the others have none."""
    entries: dict[str, list[str]] = collections.defaultdict(list)
    for entry in _gcide_entries(root):
        stats["gcide_entries"] += 1
        if not _HEADWORDS.match(entry):
            continue
        word = entry[: entry.index("\\")].strip().lower()
        if word in wanted and _part_of_speech(entry[: _header_end(entry)]) == wanted[word]:
            entries[word].append(entry)
    stats["gcide_no_entry_of_pos"] = len(wanted) - len(entries)
    found: dict[str, str] = {}
    for word in sorted(entries):
        reason = ""
        for entry in entries[word]:
            text, reason = _gcide_definition(entry)
            if text:
                found[word] = text
                break
        stats[reason or "gcide_found"] += 1
    return found


# ------------------------------------------------------------------------------------------- rows


def _uses_word(text: str, word: str) -> bool:
    """Whether `text` has the word or a word of its stem: a shared prefix of all but the word's last 4
    letters, at least 5 ("abandon": "abandoning"; "allometric": "allometry"), so the match is not lexical."""
    need = min(len(word), max(5, len(word) - 4))
    return any(token[:need] == word[:need] and len(token) >= need for token in re.findall(r"[a-z]+", text.lower()))


def _letters_only(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _jaccard(a: str, b: str) -> float:
    x, y = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return len(x & y) / len(x | y) if x | y else 1.0


def _pairs(wordnet: dict[str, tuple[str, str, str]], gcide: dict[str, str],
           stats: dict) -> dict[str, tuple[str, str, str]]:
    """word -> (synset key, WordNet text, GCIDE text) of the words with two usable, distinct definitions."""
    pairs = {}
    for word in sorted(gcide):
        _, synset, wn_text = wordnet[word]
        texts = (_truncate(wn_text), _truncate(gcide[word]))
        if min(len(t) for t in texts) < MIN_CHARS:
            stats["skipped_short"] += 1
        elif any(_uses_word(t, word) for t in texts):
            stats["skipped_uses_headword"] += 1
        elif _letters_only(texts[0]) == _letters_only(texts[1]):  # WordNet took some glosses from Webster
            stats["skipped_copy"] += 1
        else:
            pairs[word] = (synset, *texts)
    # WordNet synonyms share one gloss: a text of several words would be relevant to each, so one word
    # per synset is kept (the first), and a text found under two words keeps neither.
    by_synset: dict[str, list[str]] = collections.defaultdict(list)
    for word, (synset, _, _) in pairs.items():
        by_synset[synset].append(word)
    extra = {w for words in by_synset.values() for w in words[1:]}
    stats["skipped_synonym_of_kept_word"] = len(extra)
    pairs = {w: p for w, p in pairs.items() if w not in extra}
    count = collections.Counter(t for _, *texts in pairs.values() for t in texts)
    shared = {w for w, (_, *texts) in pairs.items() if any(count[t] > 1 for t in texts)}
    stats["skipped_text_shared_by_words"] = len(shared)
    return {w: p for w, p in pairs.items() if w not in shared}


def _rows(pairs: dict[str, tuple[str, str, str]]) -> tuple[list[dict], dict[str, dict]]:
    """Rows, and each word's paraphrase entry; the coin (seeded, one draw per sorted word) picks
    which dictionary gives the positive."""
    words = sorted(pairs)
    coins = np.random.default_rng([SEED, 1]).integers(0, 2, len(words))
    rows, paraphrase = [], {}
    for word, coin in zip(words, coins):
        _, wn_text, gc_text = pairs[word]
        (positive, pos_src), (other, other_src) = ((wn_text, "wordnet"), (gc_text, "gcide"))[:: 1 if coin else -1]
        group = word[:GROUP_PREFIX]
        rows.append({"anchor": word, "positive": positive, "group": group, "meaning": word, "id": f"{word}#{pos_src}"})
        paraphrase[word] = {"id": f"{word}#{other_src}", "text": other, "group": group, "meaning": word}
    return rows, paraphrase


def _distractors(rest: list[dict], pairs: dict, taken: set[str]) -> list[dict]:
    """One definition of each of DISTRACTORS words of the groups no row took (seeded sample), from the
    dictionary a second seeded coin picks. None is a row word's WordNet synonym: `pairs` keeps one word
    per synset."""
    candidates = sorted(r["meaning"] for r in rest)
    rng = np.random.default_rng([SEED, 2])
    chosen = sorted(rng.choice(len(candidates), min(DISTRACTORS, len(candidates)), replace=False).tolist())
    out = []
    for i, coin in zip(chosen, rng.integers(0, 2, len(chosen))):
        word = candidates[i]
        source, text = ("wordnet", pairs[word][1]) if coin else ("gcide", pairs[word][2])
        if text not in taken:
            out.append({"id": f"{word}#{source}", "text": text, "group": word[:GROUP_PREFIX], "meaning": word})
    return out


def _check(train: list[dict], test: list[dict], corpus: list[dict], distractors: list[dict]) -> None:
    """The invariants of the contract; a violation is a bug in this module, so it raises."""
    rows = train + test
    meanings = collections.defaultdict(set)
    for row in rows:
        meanings[row["anchor"]].add(row["meaning"])
    if any(len(m) > 1 for m in meanings.values()) or len({r["meaning"] for r in rows}) != len(rows):
        raise AssertionError("an anchor of several meanings, or a meaning of several rows")
    texts = {r["positive"] for r in rows} | {c["text"] for c in corpus}
    if texts & set(meanings):
        raise AssertionError("an anchor equals a positive or corpus text")
    train_groups, test_groups = {r["group"] for r in train}, {r["group"] for r in test}
    if train_groups & test_groups:
        raise AssertionError("a group on both sides")
    side = {c["meaning"]: c for c in corpus}
    if any(side[r["meaning"]]["group"] != r["group"] for r in rows):
        raise AssertionError("a corpus entry outside its row's group")
    train_texts = {t for r in train for t in (r["anchor"], r["positive"], side[r["meaning"]]["text"])}
    held_out = {t for r in test for t in (r["anchor"], r["positive"], side[r["meaning"]]["text"])}
    held_out |= {d["text"] for d in distractors}
    if train_texts & held_out:
        raise AssertionError("a test or distractor text on the train side")
    if {d["text"] for d in distractors} & texts or {d["meaning"] for d in distractors} & set(meanings):
        raise AssertionError("a distractor equals a row or corpus text, or shares a row's meaning")
    if any(_squash(r["positive"]) == _squash(side[r["meaning"]]["text"]) for r in rows):
        raise AssertionError("a paraphrase equal to its positive")


def _build() -> dict[str, Any]:
    stats: dict[str, Any] = collections.Counter()
    with tempfile.TemporaryDirectory(prefix="outcome-dictionary-") as tmp:
        start = time.perf_counter()
        root = _fetch_debs(Path(tmp))
        stats["fetch_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        wordnet = _wordnet(root, stats)
        gcide = _gcide(root, {w: pos for w, (pos, _, _) in wordnet.items()}, stats)
    stats["words_in_both"] = len(gcide)
    pairs = _pairs(wordnet, gcide, stats)
    stats["eligible_words"] = len(pairs)
    rows, paraphrase = _rows(pairs)
    test, train, rest = _split_by_group(rows, [TEST_ROWS, TRAIN_ROWS, len(rows)])
    corpus = [paraphrase[r["meaning"]] for r in train + test]
    taken = {r["positive"] for r in train + test} | {c["text"] for c in corpus}
    distractors = _distractors(rest, pairs, taken)  # _split_by_group deals whole groups: rest shares none
    _check(train, test, corpus, distractors)
    side = {c["meaning"]: c["text"] for c in corpus}
    near = sum(_jaccard(r["positive"], side[r["meaning"]]) >= NEAR_COPY for r in train + test)
    stats.update({"train": len(train), "test": len(test), "corpus": len(corpus), "distractors": len(distractors),
                  "near_copies": near, "near_copy_share": round(near / max(1, len(train) + len(test)), 4),
                  "positive_from_wordnet": sum(r["id"].endswith("#wordnet") for r in train + test),
                  "parse_s": round(time.perf_counter() - start, 2)})
    return {"name": "dictionary", "train": train, "test": test, "distractors": distractors, "corpus": corpus,
            "stats": dict(sorted(stats.items()))}


def dictionary(cache_dir: Path) -> dict[str, Any]:
    """WordNet and GCIDE definitions of one word as paraphrases, split by stem (see the module docstring)."""
    return _cached(Path(cache_dir) / "dictionary.json.gz", _build)


# ------------------------------------------------------------------------------------------- main


def main(argv: list[str]) -> None:
    cache_dir = Path(argv[0]) if argv else ROOT / "bench" / ".data" / "outcome"
    start = time.perf_counter()
    data = dictionary(cache_dir)
    print(f"[dictionary: {time.perf_counter() - start:.1f} s]")
    print({k: len(data[k]) for k in ("train", "test", "distractors", "corpus")})
    print(data["stats"])
    paraphrase = {c["meaning"]: c["text"] for c in data["corpus"]}
    rows = data["train"] + data["test"]
    for i in np.random.default_rng(SEED).choice(len(rows), 5, replace=False):
        row = rows[i]
        print(f"\n{row['anchor']!r} [{row['id']}]\n  positive:   {row['positive']}\n"
              f"  paraphrase: {paraphrase[row['meaning']]}")


if __name__ == "__main__":
    main(sys.argv[1:])
