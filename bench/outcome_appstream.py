"""The appstream outcome set: a Debian package's description against the AppStream metadata of the same
package, two authors describing one thing.

  anchor:     the Debian short description (the Debian maintainer's one-line summary);
  positive /  one of the Debian long description and the AppStream description (DEP-11, written by
  corpus:     the upstream project in its metainfo file), by a seeded coin per package; the other is the
              row's paraphrase in `corpus`, so either author's style is on either side;
  meaning:    the binary package; group = its source package, so sibling binaries stay on one side;
  distractors: texts of sources no row comes from, none of which answers a row's anchor: the AppStream
              descriptions (any type) left unused, and Debian long descriptions, one package per
              source, sampled with the rows' mix of archive sections (games, gnome, kde ...).

Of ~1,900 packages with an AppStream description in bookworm main, only ~700 make rows: for most
(~1,280 components) the AppStream generator had no metainfo and wrote the package's own description
back (`_is_copy`), and fonts and input methods are left out. So the set is small: 40% test (~280 rows,
enough queries for an interval), the rest train; distractors 3.5x the test rows, of which only ~50
upstream texts are left unused.

DEP-11 comes through apt itself, signed like every other list: `apt-get update` with the index target
that the appstream package declares in /etc/apt/apt.conf.d/50appstream, given here as -o options (the
package is not needed, and no file is left in /etc). The YAML is read by a small line reader rather
than PyYAML, which is not a dependency of the project: only five fields are needed.

Run as a script: `python bench/outcome_appstream.py [CACHE_DIR]` (default bench/.data/outcome).
"""

from __future__ import annotations

import collections
import html
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from outcome_data import (ROOT, SEED, _apt_index_files, _cached, _descriptions, _ensure_apt_lists, _read_lines,
                          _sources, _split_by_group, _squash, _stanzas, _translations_complete, _truncate)

NAME = "appstream"
MIN_TEXT = 40  # characters; shorter texts say too little to retrieve by
APPSTREAM_BUDGET = 800  # characters of leading AppStream paragraphs, so most texts fit in ~128 word pieces
TEST_SHARE = 0.4  # of ~700 usable packages (see the module docstring): enough queries for an interval
DISTRACTOR_FACTOR = 3.5  # distractors per test row
NEAR_COPY_JACCARD = 0.8
SIMILAR_JACCARD = 0.6  # texts of two meanings this alike are counted in stats
# Component types whose descriptions upstream writes for the one component. Fonts and input methods
# mostly share a family's boilerplate ("This font is part of the Lohit font family ...", "Input methods
# are typing systems allowing users to ..."): they are counted in stats and left out of the rows.
KEEP_TYPES = frozenset({"desktop-application", "console-application", "addon", "generic", "web-application",
                        "operating-system", "firmware", "icon-theme"})
_DEP11_TARGET = "Acquire::IndexTargets::deb::DEP-11"
# What 50appstream declares, plus DefaultEnabled: an image may switch the target off in its own config.
_DEP11_OPTIONS = [f"{_DEP11_TARGET}::{key}={value}" for key, value in (
    ("MetaKey", "$(COMPONENT)/dep11/Components-$(NATIVE_ARCHITECTURE).yml"),
    ("ShortDescription", "Components-$(NATIVE_ARCHITECTURE)"),
    ("Description", "$(RELEASE)/$(COMPONENT) $(NATIVE_ARCHITECTURE) DEP-11 Metadata"),
    ("KeepCompressed", "true"),
    ("DefaultEnabled", "true"))]


# ------------------------------------------------------------------------------------------ fetch


def _apt_options() -> list[str]:
    return [arg for option in ["Acquire::Languages=en", *_DEP11_OPTIONS] for arg in ("-o", option)]


def _dep11_files() -> list[Path]:
    """The DEP-11 component lists on disk, in apt's suite order (bookworm main has one)."""
    out = subprocess.run(["apt-get", "indextargets", *_apt_options(), "--format", "$(FILENAME)",
                          "Identifier: DEP-11"], check=True, capture_output=True, text=True).stdout
    return [Path(line) for line in out.split() if Path(line).exists()]


def _ensure_lists() -> tuple[list[Path], list[Path], list[Path]]:
    """Packages, Translation-en and DEP-11 lists, fetched in one update when either is missing: apt drops
    the lists of targets an update does not name, so outcome_data's own update (en translations only)
    would remove DEP-11; after this one it finds its lists complete and updates nothing."""
    if not _dep11_files() or not _translations_complete(_apt_index_files("Translations")):
        subprocess.run(["apt-get", "update", "-qq", *_apt_options()], check=False, stdout=subprocess.DEVNULL)
    packages, translations = _ensure_apt_lists()
    dep11 = _dep11_files()
    if not dep11:
        raise RuntimeError("no DEP-11 Components list after apt-get update")
    return packages, translations, dep11


# ------------------------------------------------------------------------------------------ DEP-11


def _documents(path: Path) -> Iterator[list[str]]:
    """The YAML documents of a DEP-11 file as lists of lines; the first is the file header."""
    doc: list[str] = []
    for line in _read_lines(path):
        if line == "---":
            if doc:
                yield doc
            doc = []
        else:
            doc.append(line)
    if doc:
        yield doc


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "", "a": "", "b": "", "e": "", "f": "", "v": "", " ": " ",
            '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")


def _unescape(match: re.Match) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16)) if len(code) > 1 else _ESCAPES.get(code, code)


def _scalar(head: str, body: list[str]) -> str:
    """A YAML scalar from its first line (after the key) and its more-indented lines. Line folding is
    done loosely, joining lines with a space: every text is whitespace-squashed afterwards."""
    head = head.strip()
    if head[:1] in "|>":  # block scalar: the lines as they are
        return "\n".join(line.strip() for line in body)
    text = ""
    for line in [head, *(line.strip() for line in body)]:
        if head[:1] == '"' and text.endswith("\\") and (len(text) - len(text.rstrip("\\"))) % 2:
            text = text[:-1] + line  # an escaped line break joins without a space
        else:
            text = f"{text} {line}" if text else line
    if head[:1] == '"':
        return _ESCAPE.sub(_unescape, text[1:-1])
    if head[:1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def _component(doc: list[str]) -> dict[str, str]:
    """Package, Type, ID and the C (untranslated) Description of one component, those it has."""
    fields: dict[str, str] = {}
    key, locale_head, body = "", None, []
    for line in doc + ["END:"]:
        indent = len(line) - len(line.lstrip(" "))
        if locale_head is not None and (not line.strip() or indent > 2):
            body.append(line)
            continue
        if locale_head is not None:  # the C block has ended
            fields["Description"] = _scalar(locale_head, body)
            locale_head = None
        if indent == 0 and ":" in line and line[:1] != "-":
            key, _, value = line.partition(":")
            if key in ("Package", "Type", "ID"):
                fields[key] = _scalar(value, [])
        elif key == "Description" and indent == 2 and line.startswith("  C:"):
            locale_head, body = line[4:], []
    return fields


_BLOCK = re.compile(r"<(p|ul|ol)>(.*?)</\1>", re.DOTALL)
_ITEM = re.compile(r"<li>(.*?)</li>", re.DOTALL)
_INLINE = re.compile(r"</?(?:em|code|b|i|strong|br)\s*/?>")
_TRANSLATED = re.compile(r"<(\w+) xml:lang=[^>]*>.*?</\1>", re.DOTALL)  # translations left inline by a generator


def _html_paragraphs(markup: str) -> list[str]:
    """AppStream description markup as plain paragraphs; a list is one paragraph of its items."""
    paragraphs = []
    for match in _BLOCK.finditer(_TRANSLATED.sub("", markup)):
        inner = match.group(2)
        text = inner if match.group(1) == "p" else " ".join(_ITEM.findall(inner))
        if text := _squash(html.unescape(_INLINE.sub("", text))):
            paragraphs.append(text)
    return paragraphs


def _lead(paragraphs: list[str], budget: int = APPSTREAM_BUDGET) -> str:
    """The first paragraphs up to `budget` characters (at least one), cut at 1000. A paragraph that
    introduces a list ("Features:") is not kept without it."""
    kept = paragraphs[:1]
    for paragraph in paragraphs[1:]:
        if sum(len(p) + 1 for p in kept) + len(paragraph) > budget:
            break
        kept.append(paragraph)
    if len(kept) > 1 and kept[-1].endswith(":"):
        kept.pop()
    return _truncate(" ".join(kept))


def _appstream(files: list[Path], stats: dict) -> dict[str, list[tuple[str, str, list[str]]]]:
    """package -> [(type, id, paragraphs)] for components with a Package and a C Description."""
    found: dict[str, list[tuple[str, str, list[str]]]] = collections.defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for path in files:
        for doc in _documents(path):
            fields = _component(doc)
            if "ID" not in fields:
                continue  # the file header
            stats["components"] += 1
            package, kind, ident = fields.get("Package", ""), fields.get("Type", ""), fields["ID"]
            if not package:
                stats["components_without_package"] += 1
            elif "Description" not in fields:
                stats["components_without_description"] += 1
            elif (package, ident) not in seen:  # first suite wins
                seen.add((package, ident))
                found[package].append((kind, ident, _html_paragraphs(fields["Description"])))
    return dict(found)


# ------------------------------------------------------------------------------------------ rows


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _is_copy(a: str, b: str) -> bool:
    """One text's words run, in order, inside the other's: what the AppStream generator writes for a
    component without metainfo (the package's own description, lists turned into markup), and what a
    maintainer writes who took upstream's text and cut it or added a sentence."""
    x, y = " ".join(_words(a)), " ".join(_words(b))
    shorter, longer = sorted((x, y), key=len)
    return bool(shorter) and f" {shorter} " in f" {longer} "


def _jaccard(a: str, b: str) -> float:
    x, y = set(_words(a)), set(_words(b))
    return len(x & y) / len(x | y) if x | y else 1.0


def _pick_component(components: list[tuple[str, str, list[str]]], long: str,
                    stats: dict) -> tuple[str, str, str] | None:
    """(type, id, text) of the package's main upstream component: an application before an addon, then
    the longest text. Components of the types left out, too short or copying `long` are counted."""
    kept = []
    for kind, ident, paragraphs in components:
        text = _lead(paragraphs)
        if kind not in KEEP_TYPES:
            stats[f"skipped_type_{kind or 'none'}"] += 1
        elif len(text) < MIN_TEXT:
            stats["skipped_short_appstream_description"] += 1
        elif _is_copy(" ".join(paragraphs), long):
            stats["skipped_appstream_copies_debian"] += 1
        else:
            kept.append((kind, ident, text))
    order = {"desktop-application": 0, "console-application": 0, "web-application": 0}
    kept.sort(key=lambda c: (order.get(c[0], 1), -len(c[2]), c[1]))
    return kept[0] if kept else None


def _candidates(debian: dict[str, tuple[str, str]], source: dict[str, str],
                appstream: dict[str, list[tuple[str, str, list[str]]]], stats: dict) -> list[dict]:
    """One candidate per package that both authors describe: {package, source, short, long, kind,
    component, appstream}."""
    shorts = collections.Counter(short for short, _ in debian.values())
    out = []
    for package in sorted(appstream):
        short, long = debian.get(package, ("", ""))
        if not short or package not in source:
            stats["skipped_no_debian_description"] += 1
        elif re.search(r"transitional|dummy", short, re.IGNORECASE):
            stats["skipped_transitional_or_dummy"] += 1
        elif shorts[short] > 1:
            stats["skipped_ambiguous_short_description"] += 1
        elif len(long) < MIN_TEXT:
            stats["skipped_short_long_description"] += 1
        elif (component := _pick_component(appstream[package], long, stats)) is None:
            stats["skipped_no_upstream_component"] += 1
        elif short in (_truncate(long), component[2]):
            stats["skipped_anchor_equals_text"] += 1
        else:
            kind, ident, text = component
            out.append({"package": package, "source": source[package], "short": short, "long": _truncate(long),
                        "kind": kind, "component": ident, "appstream": text})
    return _drop_shared_texts(out, stats)


def _drop_shared_texts(candidates: list[dict], stats: dict) -> list[dict]:
    """A text that several packages share (a family's common description) would be relevant to
    several anchors; those packages are left out."""
    uses = collections.Counter(t for c in candidates for t in {c["long"], c["appstream"]})
    kept = [c for c in candidates if uses[c["long"]] == 1 and uses[c["appstream"]] == 1]
    stats["skipped_shared_text"] = len(candidates) - len(kept)
    return kept


def _rows(candidates: list[dict]) -> tuple[list[dict], list[dict]]:
    """A row and its corpus paraphrase per package; a seeded coin per package says which author's text
    is the positive, so the style of a text does not tell a positive from a paraphrase."""
    rows, corpus = [], []
    coins = np.random.default_rng([SEED, 1]).integers(0, 2, len(candidates))
    for c, coin in zip(candidates, coins):
        texts = [("debian", c["long"]), ("appstream", c["appstream"])]
        (pos_kind, positive), (para_kind, paraphrase) = texts if coin == 0 else texts[::-1]
        package = c["package"]
        rows.append({"anchor": c["short"], "positive": positive, "group": c["source"], "meaning": package,
                     "id": f"{package}#{pos_kind}"})
        corpus.append({"id": f"{package}#{para_kind}", "text": paraphrase, "group": c["source"], "meaning": package})
    return rows, corpus


def _sections(files: list[Path]) -> dict[str, str]:
    """binary package -> archive section (games, gnome, libs ...), without a contrib/ or non-free/ prefix."""
    section: dict[str, str] = {}
    for path in files:
        for stanza in _stanzas(path):
            fields = dict(line.split(":", 1) for line in stanza if line[:1] not in " \t" and ":" in line)
            name = fields.get("Package", "").strip()
            if name and name not in section:  # first suite wins, like the descriptions
                section[name] = fields.get("Section", "").strip().rsplit("/", 1)[-1]
    return section


def _distractors(debian: dict[str, tuple[str, str]], source: dict[str, str], section: dict[str, str],
                 appstream: dict[str, list], rows: list[dict], taken: set[str], target: int,
                 stats: dict) -> list[dict]:
    """Texts of sources that no row comes from (a sibling's text could answer a row's anchor): half
    upstream AppStream descriptions if there are enough, the rest Debian long descriptions, so that
    neither author's style marks a text as relevant. The Debian ones are a weighted sample, one package
    per source, with the rows' mix of archive sections: the rows are mostly games and desktop programs,
    and random packages (mostly libraries, Perl, Rust) would give relevance away by topic alone."""
    used_sources = {row["group"] for row in rows}
    upstream = []
    for package in sorted(appstream):
        src, long = source.get(package, package), debian.get(package, ("", ""))[1]
        for kind, ident, paragraphs in appstream[package]:
            text = _lead(paragraphs)
            if src not in used_sources and len(text) >= MIN_TEXT and not _is_copy(" ".join(paragraphs), long):
                upstream.append({"id": f"{package}#appstream:{ident}", "text": text, "group": src, "meaning": package})
    rng = np.random.default_rng([SEED, 2])
    out, seen = [], set(taken)
    for entry in [upstream[i] for i in rng.permutation(len(upstream))[: target // 2]]:
        if entry["text"] not in seen:
            seen.add(entry["text"])
            out.append(entry)
    stats["distractors_appstream"] = len(out)
    eligible = [p for p in sorted(debian) if source.get(p) and source[p] not in used_sources
                and len(debian[p][1]) >= MIN_TEXT and not re.search(r"transitional|dummy", debian[p][0], re.IGNORECASE)]
    share = collections.Counter(section.get(row["meaning"], "") for row in rows)
    available = collections.Counter(section.get(p, "") for p in eligible)
    weights = np.array([share[section.get(p, "")] / available[section.get(p, "")] for p in eligible])
    keys = rng.random(len(eligible)) ** (1 / np.maximum(weights, 1e-12))  # weighted order (Efraimidis-Spirakis)
    picked_sources: set[str] = set()
    for i in np.argsort(-keys, kind="stable"):
        if len(out) >= target or weights[i] == 0:
            break
        package = eligible[i]
        text = _truncate(debian[package][1])
        if source[package] not in picked_sources and text not in seen:
            picked_sources.add(source[package])
            seen.add(text)
            out.append({"id": f"{package}#debian", "text": text, "group": source[package], "meaning": package})
    stats["distractors_debian"] = len(out) - stats["distractors_appstream"]
    stats["distractor_sections"] = dict(collections.Counter(section.get(d["meaning"], "") for d in out).most_common(12))
    return out


# ------------------------------------------------------------------------------------------ checks


def _check(data: dict[str, Any]) -> None:
    """The invariants of the outcome-set contract; a violation is a bug in this builder."""
    rows = data["train"] + data["test"]
    meaning_of: dict[str, set[str]] = collections.defaultdict(set)
    for row in rows:
        meaning_of[row["anchor"]].add(row["meaning"])
    if bad := [a for a, m in meaning_of.items() if len(m) > 1]:
        raise AssertionError(f"anchors with several meanings: {bad[:5]}")
    if len({row["meaning"] for row in rows}) != len(rows):
        raise AssertionError("a meaning has several rows")
    texts = {row["positive"] for row in rows} | {c["text"] for c in data["corpus"]}
    if clash := set(meaning_of) & texts:
        raise AssertionError(f"anchor equals a text: {sorted(clash)[:5]}")
    test_groups = {row["group"] for row in data["test"]}
    if test_groups & {row["group"] for row in data["train"]}:
        raise AssertionError("a group on both sides")
    side = {row["meaning"]: row["group"] in test_groups for row in rows}
    train_texts = ({t for r in data["train"] for t in (r["anchor"], r["positive"])}
                   | {c["text"] for c in data["corpus"] if not side[c["meaning"]]})
    test_texts = ({t for r in data["test"] for t in (r["anchor"], r["positive"])}
                  | {c["text"] for c in data["corpus"] if side[c["meaning"]]})
    distractor_texts = [d["text"] for d in data["distractors"]]
    if leak := (test_texts | set(distractor_texts)) & train_texts:
        raise AssertionError(f"test or distractor text on the train side: {sorted(leak)[:3]}")
    if set(distractor_texts) & (texts | set(meaning_of)) or len(set(distractor_texts)) != len(distractor_texts):
        raise AssertionError("a distractor equals a row or corpus text, or another distractor")
    if {d["meaning"] for d in data["distractors"]} & set(side):
        raise AssertionError("a distractor of a row's meaning")
    positive = {row["meaning"]: row["positive"] for row in rows}
    if any(_squash(c["text"]) == _squash(positive[c["meaning"]]) for c in data["corpus"]):
        raise AssertionError("a paraphrase is a copy of its positive")


# ------------------------------------------------------------------------------------------ build


def _similar_pairs(entries: list[dict], threshold: float) -> list[tuple[dict, dict]]:
    """Pairs of texts of different meanings whose word sets overlap by `threshold` (Jaccard): families
    with one description (VPN plugins, synthesizers of one author) that no exact check sees."""
    words = [frozenset(_words(e["text"])) for e in entries]
    pairs = []
    for i, a in enumerate(words):
        for j in range(i + 1, len(words)):
            shared = len(a & words[j])
            similar = shared >= threshold * (len(a) + len(words[j]) - shared)
            if similar and entries[i]["meaning"] != entries[j]["meaning"]:
                pairs.append((entries[i], entries[j]))
    return pairs


def _text_stats(train: list[dict], test: list[dict], corpus: list[dict], candidates: list[dict]) -> dict[str, Any]:
    """Near-copies (word-set Jaccard of positive and paraphrase), similar texts of different meanings
    and the texts' lengths by author: reported, for a reader to judge how hard the set is."""
    paraphrase = {c["meaning"]: c["text"] for c in corpus}
    rows = train + test
    near = sum(_jaccard(r["positive"], paraphrase[r["meaning"]]) >= NEAR_COPY_JACCARD for r in rows)
    test_groups = {r["group"] for r in test}
    similar = _similar_pairs([{"text": r["positive"], "meaning": r["meaning"], "group": r["group"]} for r in rows]
                             + corpus, SIMILAR_JACCARD)
    lengths = {kind: [len(c[kind]) for c in candidates] for kind in ("long", "appstream")}
    return {"near_copies": near, "near_copy_share": round(near / max(1, len(rows)), 4),
            "similar_other_meaning_pairs": {
                "jaccard": SIMILAR_JACCARD, "all": len(similar),
                "same_group": sum(a["group"] == b["group"] for a, b in similar),
                "train_test": sum((a["group"] in test_groups) != (b["group"] in test_groups) for a, b in similar)},
            "positive_from": dict(collections.Counter(r["id"].rsplit("#", 1)[1] for r in rows)),
            "median_chars": {"debian": int(np.median(lengths["long"])),
                             "appstream": int(np.median(lengths["appstream"]))} if candidates else {}}


def _build() -> dict[str, Any]:
    stats: dict[str, Any] = collections.defaultdict(int)
    start = time.perf_counter()
    packages, translations, dep11 = _ensure_lists()
    stats["fetch_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    debian, source, section = _descriptions(translations), _sources(packages), _sections(packages)
    appstream = _appstream(dep11, stats)
    stats["packages_with_appstream_description"] = len(appstream)
    candidates = _candidates(debian, source, appstream, stats)
    stats["kept_by_type"] = dict(sorted(collections.Counter(c["kind"] for c in candidates).items()))
    rows, corpus = _rows(candidates)
    test, train = _split_by_group(rows, [round(TEST_SHARE * len(rows)), len(rows)])
    taken = {t for r in rows for t in (r["anchor"], r["positive"])} | {c["text"] for c in corpus}
    target = round(DISTRACTOR_FACTOR * len(test))
    distractors = _distractors(debian, source, section, appstream, rows, taken, target, stats)
    stats.update(_text_stats(train, test, corpus, candidates))
    stats.update(rows=len(rows), train=len(train), test=len(test), corpus=len(corpus), distractors=len(distractors),
                 train_groups=len({r["group"] for r in train}), test_groups=len({r["group"] for r in test}),
                 parse_s=round(time.perf_counter() - start, 2))
    data = {"name": NAME, "train": train, "test": test, "distractors": distractors, "corpus": corpus,
            "stats": dict(sorted(stats.items()))}
    _check(data)
    return data


def appstream(cache_dir: Path) -> dict[str, Any]:
    """Debian descriptions against AppStream descriptions, split by source package (see the module docstring)."""
    return _cached(Path(cache_dir) / f"{NAME}.json.gz", _build)


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str]) -> None:
    cache_dir = Path(argv[0]) if argv else ROOT / "bench" / ".data" / "outcome"
    start = time.perf_counter()
    data = appstream(cache_dir)
    print(f"[{NAME}: {time.perf_counter() - start:.1f} s]")
    print({k: len(data[k]) for k in ("train", "test", "distractors", "corpus")})
    print(json.dumps(data["stats"], indent=1))
    paraphrase = {c["meaning"]: c["text"] for c in data["corpus"]}
    rows = data["train"] + data["test"]
    for i in np.random.default_rng(SEED).choice(len(rows), min(5, len(rows)), replace=False):
        row = rows[i]
        print(json.dumps({"anchor": row["anchor"], "positive": row["positive"],
                          "paraphrase": paraphrase[row["meaning"]], "id": row["id"], "group": row["group"]},
                         ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
