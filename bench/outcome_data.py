"""Real outside datasets for the outcome benchmark (fine-tune an embedding model, then measure
retrieval on held-out anchors), built offline after a one-time fetch through apt. This module holds
the shared helpers and two sets; the others are bench/outcome_<set>.py.

  debian:   Debian package descriptions. anchor = the short description, positive = the long one;
            meaning = the binary package; group = the source package, so that sibling binaries (lib,
            -dev, -doc, data...) never straddle the train/test split. Siblings are NOT false
            negatives: the evaluation scores a `-dev` package's description as a wrong answer to
            the library's query, so training against it is right. No known false negatives.
  manpages: the Linux man-pages project (Debian's `manpages` and `manpages-dev`). anchor = the
            NAME line, positive = the first prose paragraph of DESCRIPTION; the page's next
            paragraphs go to `corpus` with the page's meaning: known false negatives for that anchor
            in training, and relevant documents for it in the evaluation.

Each builder returns {"name", "train", "test", "distractors", "corpus", "stats"}; rows are
{"anchor", "positive", "group", "meaning", "id"}, distractor and corpus entries are {"id", "text",
"group", "meaning"}. A text of meaning m is relevant to the anchors of meaning m and to no other:
what the benchmark counts as a false negative in training is what its evaluation counts as relevant.
`group` is the split unit. The result is cached as gzipped JSON in `cache_dir`, so only the first
call touches apt.

Run as a script: `python bench/outcome_data.py [CACHE_DIR]` (default bench/.data/outcome).
"""

from __future__ import annotations

import collections
import gzip
import io
import json
import lzma
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = 0
MAX_POSITIVE_CHARS = 1000
DEBIAN_TRAIN, DEBIAN_TEST, DEBIAN_DISTRACTORS = 4000, 1000, 8000
DEBIAN_MIN_LONG = 40
# A few sources have 100-200 near-identical binaries (tesseract-lang, tasksel, libreoffice-dictionaries)
# and would otherwise fill a quarter of the test set; keep a seeded sample of each. None keeps all.
DEBIAN_MAX_PER_SOURCE: int | None = 20
MAN_MIN_PARAGRAPH = 60
MAN_EXTRA_PARAGRAPHS = 3
MAN_TEST_SHARE = 0.2


# ---------------------------------------------------------------------------------------- shared


def _cached(path: Path, build) -> dict[str, Any]:
    """Load `path` if present, else build and write it (gzip mtime 0: the same data gives the same bytes)."""
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    data = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    tmp.replace(path)  # atomic: an interrupted build never leaves a half-written cache
    return data


def _squash(text: str) -> str:
    return " ".join(text.split())


def _truncate(text: str, limit: int = MAX_POSITIVE_CHARS) -> str:
    """Cut at a word boundary so that no positive ends mid-word."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0]
    return cut if cut else text[:limit]


def _drop_duplicate_pairs(rows: list[dict]) -> list[dict]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for row in rows:
        key = (row["anchor"], row["positive"])
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


# ---------------------------------------------------------------------------------------- debian


def _apt_index_files(identifier: str, expected: bool = False) -> list[Path]:
    """The list files apt uses for `identifier` (Packages, Translations), in apt's order, which puts
    the main suite before -updates and -security. Only files present are listed, with their
    compression suffix; `expected` lists every one apt would fetch, without the suffix."""
    out = subprocess.run(
        ["apt-get", "indextargets", "-o", "Acquire::Languages=en", "--format", "$(FILENAME)",
         *(["--no-release-info"] if expected else []), f"Identifier: {identifier}"],
        check=True, capture_output=True, text=True).stdout
    return [Path(line) for line in out.split()]


def _translations_complete(present: list[Path]) -> bool:
    """Whether every Translation-en apt would fetch is on disk (the present files carry a compression
    suffix). Packages lists are not checked this way: without release info apt also names binary-all
    lists that the archive folds into binary-amd64."""
    names = [p.name for p in present]
    expected = _apt_index_files("Translations", expected=True)
    return bool(expected) and all(any(n.startswith(want.name) for n in names) for want in expected)


def _ensure_apt_lists() -> tuple[list[Path], list[Path]]:
    """Packages and Translation-en files; the image disables translations, so fetch them once if absent."""
    packages, translations = _apt_index_files("Packages"), _apt_index_files("Translations")
    if not (packages and _translations_complete(translations)):
        subprocess.run(["apt-get", "update", "-qq", "-o", "Acquire::Languages=en"], check=False,
                       stdout=subprocess.DEVNULL)
        packages, translations = _apt_index_files("Packages"), _apt_index_files("Translations")
        if not (packages and _translations_complete(translations)):
            raise RuntimeError(f"apt lists still missing after apt-get update: {packages + translations}")
    return packages, translations


def _read_lines(path: Path) -> Iterator[str]:
    """Lines of an apt list file; apt's helper knows every compression apt may have stored it in."""
    helper = Path("/usr/lib/apt/apt-helper")
    if not helper.exists():  # no apt helper: the compressions Python reads itself
        opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            yield from (line.rstrip("\n") for line in f)
        return
    # Streamed: the main suite's Packages list is ~50 MB once decompressed.
    with subprocess.Popen([str(helper), "cat-file", str(path)], stdout=subprocess.PIPE) as proc:
        yield from (line.rstrip("\n") for line in io.TextIOWrapper(proc.stdout, encoding="utf-8", errors="replace"))
    if proc.returncode:
        raise RuntimeError(f"apt-helper cat-file {path} exited {proc.returncode}")


def _stanzas(path: Path) -> Iterator[list[str]]:
    """deb822 paragraphs as lists of lines."""
    stanza: list[str] = []
    for line in _read_lines(path):
        if line.strip():
            stanza.append(line)
        elif stanza:
            yield stanza
            stanza = []
    if stanza:
        yield stanza


def _sources(files: list[Path]) -> dict[str, str]:
    """binary package -> source package (no Source: field means they share the name)."""
    source: dict[str, str] = {}
    for path in files:
        for stanza in _stanzas(path):
            fields = dict(line.split(":", 1) for line in stanza if line[:1] not in " \t" and ":" in line)
            name = fields.get("Package", "").strip()
            if name and name not in source:  # first suite wins, like the descriptions
                src = fields.get("Source", name).strip()
                source[name] = src.split(" (")[0].strip()  # "foo (1.2-3)" when the versions differ
    return source


def _long_description(lines: list[str]) -> str:
    """Continuation lines of Description-en: " ." separates paragraphs, all joined by spaces."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip() == ".":
            paragraphs.append([])
        else:
            paragraphs[-1].append(line.strip())
    return _squash(" ".join(" ".join(p) for p in paragraphs if p))


def _descriptions(files: list[Path]) -> dict[str, tuple[str, str]]:
    """binary package -> (short, long) description."""
    found: dict[str, tuple[str, str]] = {}
    for path in files:
        for stanza in _stanzas(path):
            name, short, body, in_desc = "", "", [], False
            for line in stanza:
                if line.startswith("Package:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("Description-en:"):
                    short, in_desc = _squash(line.split(":", 1)[1]), True
                elif line[:1] == " " and in_desc:
                    body.append(line)
                else:
                    in_desc = False
            if name and short and name not in found:
                found[name] = (short, _long_description(body))
    return found


def _debian_rows(descriptions: dict[str, tuple[str, str]], source: dict[str, str], stats: dict) -> list[dict]:
    rows = []
    for name in sorted(descriptions):
        short, long = descriptions[name]
        if name not in source:  # no amd64 build, so no reliable Source: field
            stats["skipped_not_in_packages"] += 1
        elif re.search(r"transitional|dummy", short, re.IGNORECASE):
            stats["skipped_transitional_or_dummy"] += 1
        elif len(long) < DEBIAN_MIN_LONG:
            stats["skipped_short_long_description"] += 1
        else:
            rows.append({"anchor": short, "positive": _truncate(long), "group": source[name], "meaning": name,
                         "id": name})
    kept = _drop_duplicate_pairs(rows)
    stats["skipped_duplicate_pair"] = len(rows) - len(kept)
    capped = _cap_groups(kept, DEBIAN_MAX_PER_SOURCE)
    stats["dropped_by_source_cap"] = len(kept) - len(capped)
    return capped


def _cap_groups(rows: list[dict], cap: int | None) -> list[dict]:
    """At most `cap` rows per group, a seeded sample; the rest are dropped, not made distractors, as
    they are near-copies of the kept ones (false negatives)."""
    if cap is None:
        return rows
    by_group: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_group.setdefault(row["group"], []).append(i)
    rng = np.random.default_rng(SEED)
    keep: set[int] = set()
    for group in sorted(by_group):
        members = by_group[group]
        keep.update(members if len(members) <= cap else rng.choice(members, cap, replace=False).tolist())
    return [row for i, row in enumerate(rows) if i in keep]


def _split_by_group(rows: list[dict], targets: list[int]) -> list[list[dict]]:
    """Shuffle the groups (seeded) and deal whole groups to each side in turn until its target is met;
    a side may overshoot by one group. Groups left over go nowhere."""
    by_group: dict[str, list[dict]] = {}
    for row in rows:
        by_group.setdefault(row["group"], []).append(row)
    groups = sorted(by_group)
    order = np.random.default_rng(SEED).permutation(len(groups))
    sides: list[list[dict]] = [[] for _ in targets]
    side = 0
    for i in order:
        while side < len(targets) and len(sides[side]) >= targets[side]:
            side += 1
        if side == len(targets):
            break
        sides[side].extend(by_group[groups[i]])
    return sides


def _build_debian() -> dict[str, Any]:
    stats: dict[str, Any] = {"skipped_not_in_packages": 0, "skipped_transitional_or_dummy": 0,
                             "skipped_short_long_description": 0}
    start = time.perf_counter()
    packages, translations = _ensure_apt_lists()
    stats["fetch_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    descriptions = _descriptions(translations)
    rows = _debian_rows(descriptions, _sources(packages), stats)
    stats["descriptions"], stats["rows"] = len(descriptions), len(rows)
    # Test first, so its size is the one that is exact-ish; distractors come from untouched sources.
    test, train, rest = _split_by_group(rows, [DEBIAN_TEST, DEBIAN_TRAIN, len(rows)])
    distractors = _debian_distractors(rest, {r["positive"] for r in train + test})
    stats["parse_s"] = round(time.perf_counter() - start, 2)
    return {"name": "debian", "train": train, "test": test, "distractors": distractors, "corpus": [],
            "stats": stats}


def _debian_distractors(rows: list[dict], taken: set[str]) -> list[dict]:
    """Long descriptions of other sources; a text equal to a train/test positive (shared boilerplate)
    would be an unlabelled false negative, so it is left out, as are repeats."""
    out, seen = [], set(taken)
    for row in rows:
        if row["positive"] not in seen:
            seen.add(row["positive"])
            out.append({"id": row["id"], "text": row["positive"], "group": row["group"], "meaning": row["meaning"]})
        if len(out) == DEBIAN_DISTRACTORS:
            break
    return out


def debian(cache_dir: Path) -> dict[str, Any]:
    """Debian package descriptions, split by source package (see the module docstring)."""
    return _cached(Path(cache_dir) / "debian.json.gz", _build_debian)


# -------------------------------------------------------------------------------------- manpages

# troff special characters \(xx and \[xx]; anything not listed is dropped.
_GLYPHS = {
    "aq": "'", "dq": '"', "lq": "\u201c", "rq": "\u201d", "oq": "'", "cq": "'", "ga": "`", "ha": "^",
    "ti": "~", "rs": "\\", "em": "\u2014", "en": "\u2013", "hy": "-", "mi": "-", "bu": "\u2022",
    "co": "\u00a9", "rg": "\u00ae", "tm": "\u2122", "dg": "\u2020", "sc": "\u00a7", "de": "\u00b0",
    "mu": "\u00d7", "di": "\u00f7", "fm": "\u2032", "sd": "\u2033", "la": "\u27e8", "ra": "\u27e9",
    "12": "\u00bd", ">=": "\u2265", "<=": "\u2264", "!=": "\u2260", "->": "\u2192", "<-": "\u2190",
    "'a": "\u00e1", "`a": "\u00e0", "^a": "\u00e2", ":a": "\u00e4", "^o": "\u00f4", ":A": "\u00c4",
    "mc": "\u00b5", "pl": "+", "eq": "=", "+-": "\u00b1",
}
# troff strings \*x, \*(xx, \*[xx], as the pages (or groff's an-ext) define them.
_STRINGS = {"lq": "\u201c", "rq": "\u201d", "-": "-", "<": "\u27e8", ">": "\u27e9", "Tm": "\u2122",
            "R": "\u00ae", "dg": "\u2020"}
# One-character escapes; those not listed (\&, \:, \%, \|, \^, \c, \/, \,, \{, \}, ...) print nothing.
_SIMPLE = {"-": "-", "e": "\\", "\\": "\\", " ": " ", "~": " ", "0": " ", "t": " ", "'": "'", "`": "`",
           ".": ".", '"': '"'}
_ESCAPE = re.compile(
    r"\\(?:"
    r"\((?P<g2>..)|\[(?P<gn>[^\]]*)\]"  # glyphs
    r"|\*(?:\((?P<s2>..)|\[(?P<sn>[^\]]*)\]|(?P<s1>.))"  # strings
    r"|f(?:\(..|\[[^\]]*\]|.)"  # font changes
    r"|s[-+]?(?:\d|\(\d\d|\[\d+\])"  # size changes
    r"|[wNhvlLbxoZ]'[^']*'"  # width, glyph number, motions: no text of their own
    r"|n(?:\(..|\[[^\]]*\]|.)"  # number registers
    r"|(?P<c>.))", re.DOTALL)


def _glyph(name: str) -> str:
    if re.fullmatch(r"u[0-9A-Fa-f]{4,6}", name):  # \[u00E9]
        return chr(int(name[1:], 16))
    if re.fullmatch(r"char\d+", name):  # \[char46]
        return chr(int(name[4:]))
    return _GLYPHS.get(name, "")


def _escape(match: re.Match) -> str:
    g = match.group
    if g("g2") or g("gn") is not None:
        return _glyph(g("g2") or g("gn"))
    if g("s2") or g("sn") is not None or g("s1"):
        return _STRINGS.get(g("s2") or g("sn") or g("s1"), "")
    if g("c") is not None:
        return _SIMPLE.get(g("c"), "")
    return ""  # fonts, sizes, motions, registers


def _detroff(text: str) -> str:
    return _ESCAPE.sub(_escape, text)


def _strip_comment(line: str) -> str:
    """Cut a \\" or \\# comment, stepping over escapes so that \\\\" is not taken for one."""
    i = 0
    while i < len(line):
        if line[i] == "\\":
            if line[i + 1: i + 2] in ('"', "#"):
                return line[:i]
            i += 2
        else:
            i += 1
    return line


def _macro_args(text: str) -> list[str]:
    """Split macro arguments as troff does: on unescaped spaces, "..." grouping, "" for a quote."""
    args, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        quoted = text[i] == '"'
        j, buf = i + 1 if quoted else i, []
        while j < len(text):
            c = text[j]
            if c == "\\":
                buf.append(text[j: j + 2])
                j += 2
            elif quoted and c == '"':
                if text[j + 1: j + 2] == '"':
                    buf.append('"')
                    j += 2
                else:
                    j += 1
                    break
            elif not quoted and c == " ":
                break
            else:
                buf.append(c)
                j += 1
        args.append("".join(buf))
        i = j
    return args


def _logical_lines(source: str) -> Iterator[str]:
    """Source lines with comments cut and escaped newlines (a trailing backslash) joined."""
    pending = ""
    for raw in source.splitlines():
        line = pending + _strip_comment(raw)
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:  # an odd run of backslashes: the last one escapes the newline
            pending = line[:-1]
            continue
        pending = ""
        yield line


# Requests that start a new paragraph; those neither here nor handled below only set layout.
_BREAKS = {"PP", "P", "LP", "TP", "IP", "HP", "sp", "SS", "RS", "RE", "INDENT", "UNINDENT", "SY", "YS"}
_JOINED = {"BR", "RB", "IR", "RI", "BI", "IB"}  # alternating fonts: the arguments touch
_SPACED = {"B", "I", "SM", "SB"}
_NOFILL_START, _NOFILL_END = {"nf", "EX"}, {"fi", "EE"}


class _Page:
    """Sections of one man(7) page as lists of paragraphs; no-fill blocks (code, structs) and tables
    are kept out, as they are not prose."""

    def __init__(self) -> None:
        self.sections: dict[str, list[str]] = {}
        self.section = ""
        self.current: list[str] = []
        self.skip_until = ""  # a terminator: tables (.TE), macro definitions (..), brace blocks (\})
        self.nofill = False
        self.heading_next = False

    def flush(self) -> None:
        text = _squash(" ".join(self.current))
        if text and self.section:
            self.sections.setdefault(self.section, []).append(text)
        self.current = []

    def add(self, text: str) -> None:
        if self.heading_next:  # .SH with its title on the next line
            self.section, self.heading_next = _squash(_detroff(text)).upper(), False
        elif not self.nofill:
            self.current.append(text)

    def feed(self, line: str) -> None:
        if self.skip_until:
            brace = self.skip_until == "\\}"
            if (brace and "\\}" in line) or (not brace and line.strip() == self.skip_until):
                self.skip_until = ""
            return
        if line[:1] not in (".", "'"):
            if not line.strip() and not self.nofill:
                self.flush()  # a blank line is a paragraph break
            else:
                self.add(_detroff(line))
            return
        name, _, rest = line[1:].strip().partition(" ")
        self.request(name, rest.strip())

    def request(self, name: str, rest: str) -> None:
        args = _macro_args(rest)
        if name == "SH":
            self.flush()
            self.section = _squash(_detroff(" ".join(args))).upper()
            self.heading_next = not args
        elif name in _BREAKS:
            self.flush()
            if name == "IP" and args:  # a list item's tag; a bullet says nothing
                tag = _squash(_detroff(args[0]))
                if tag and tag not in ("\u2022", "-", "*"):
                    self.add(tag)
        elif name in _NOFILL_START:
            self.flush()
            self.nofill = True
        elif name in _NOFILL_END:
            self.nofill = False
        elif name in _JOINED:
            self.add("".join(_detroff(a) for a in args))
        elif name in _SPACED:
            if args:
                self.add(" ".join(_detroff(a) for a in args))
        elif name == "q":  # zic's macro: .q TEXT AFTER BEFORE
            args += ["", "", ""]
            self.add(f"{_detroff(args[2])}\u201c{_detroff(args[0])}\u201d{_detroff(args[1])}")
        elif name in ("UE", "ME") and args:  # closing punctuation of a link
            if self.current:
                self.current[-1] += _detroff(args[0])
        elif name == "TS":
            self.flush()
            self.skip_until = ".TE"
        elif name.startswith("de") or name == "ig":
            self.skip_until = ".."
        elif "\\{" in rest and "\\}" not in rest:  # a multi-line .if/.ie/.el block
            self.skip_until = "\\}"


def _parse_page(source: str) -> _Page:
    page = _Page()
    for line in _logical_lines(source):
        page.feed(line)
    page.flush()
    return page


def _is_so_link(source: str) -> bool:
    for line in _logical_lines(source):
        if line.strip() not in ("", ".", "'"):  # comment lines are left as a bare "."
            return line.startswith(".so ")
    return False


def _fetch_man_debs(work: Path) -> Path:
    """Download the two .debs and unpack them under `work`/root; nothing is installed."""
    for attempt in range(2):
        result = subprocess.run(["apt-get", "download", "-q", "manpages", "manpages-dev"], cwd=work,
                                capture_output=True, text=True)
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


def _man_page(path: Path, stats: dict) -> tuple[str, str, list[str]] | None:
    """(page, NAME line, DESCRIPTION prose paragraphs) of one page, or None (counted in `stats`)."""
    name = path.name.removesuffix(".gz")
    source = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
    if _is_so_link(source):
        stats["skipped_so_link"] += 1
        return None
    page = _parse_page(source)
    title = _squash(" ".join(page.sections.get("NAME", [])))
    if not title:
        stats["skipped_no_name"] += 1
        return None
    # rpc.3 and xdr.3 have "SYNOPSIS AND DESCRIPTION"
    description = next((v for k, v in page.sections.items() if "DESCRIPTION" in k), [])
    return name, title, [p for p in description if len(p) >= MAN_MIN_PARAGRAPH]


def _read_man_pages(root: Path, stats: dict) -> list[tuple[str, str, list[str]]]:
    pages = []
    for path in sorted(root.glob("usr/share/man/man*/*.gz")):
        if path.is_symlink():  # an alias of another page (fprintf.3 -> printf.3)
            stats["symlinks"] += 1
        elif parsed := _man_page(path, stats):
            pages.append(parsed)
    return pages


def _man_rows(pages: list[tuple[str, str, list[str]]], stats: dict) -> tuple[list[dict], list[dict]]:
    """One row per page and its next paragraphs as corpus entries. A paragraph found on several pages
    is boilerplate ("Note: this page describes the raw Linux system call interface..."): it describes
    none of them in particular and would be a false negative for the others, so it is left out."""
    pages_with = collections.Counter(p for _, _, prose in pages for p in set(prose))
    stats["shared_paragraphs_dropped"] = sum(1 for n in pages_with.values() if n > 1)
    rows, corpus = [], []
    for name, title, prose in pages:
        prose = [p for p in prose if pages_with[p] == 1]
        if not prose:
            stats["skipped_no_description_paragraph"] += 1
            continue
        rows.append({"anchor": title, "positive": _truncate(prose[0]), "group": name, "meaning": name, "id": name})
        corpus += [{"id": f"{name}#p{i}", "text": _truncate(text), "group": name, "meaning": name}
                   for i, text in enumerate(prose[1: 1 + MAN_EXTRA_PARAGRAPHS], start=1)]
    return rows, corpus


def _build_manpages() -> dict[str, Any]:
    stats: dict[str, Any] = {"symlinks": 0, "skipped_so_link": 0, "skipped_no_name": 0,
                             "skipped_no_description_paragraph": 0}
    with tempfile.TemporaryDirectory(prefix="outcome-man-") as tmp:
        start = time.perf_counter()
        root = _fetch_man_debs(Path(tmp))
        stats["fetch_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        rows, corpus = _man_rows(_read_man_pages(root, stats), stats)
    kept = _drop_duplicate_pairs(rows)
    stats["skipped_duplicate_pair"] = len(rows) - len(kept)
    stats["pages"] = len(kept)
    test, train = _split_by_group(kept, [round(MAN_TEST_SHARE * len(kept)), len(kept)])
    kept_pages = {r["group"] for r in kept}
    corpus = [c for c in corpus if c["group"] in kept_pages]
    stats["parse_s"] = round(time.perf_counter() - start, 2)
    return {"name": "manpages", "train": train, "test": test, "distractors": [], "corpus": corpus,
            "stats": stats}


def manpages(cache_dir: Path) -> dict[str, Any]:
    """Linux man pages: NAME line -> first DESCRIPTION paragraph, split by page (see the module docstring).

    The man pages are too few for distractors of their own: the held-out anchors retrieve among the
    test positives, every train positive and the train pages' other paragraphs, none of which
    answers a test anchor (only 214 test positives would make retrieval trivially easy)."""
    data = _cached(Path(cache_dir) / "manpages.json.gz", _build_manpages)
    test_pages = {row["group"] for row in data["test"]}
    data["distractors"] = ([{"id": row["id"], "text": row["positive"], "group": row["group"], "meaning": row["meaning"]}
                            for row in data["train"]]
                           + [entry for entry in data["corpus"] if entry["group"] not in test_pages])
    return data


# ------------------------------------------------------------------------------------------ main


def _report(data: dict[str, Any]) -> None:
    counts = {k: len(data[k]) for k in ("train", "test", "distractors", "corpus")}
    per_group = collections.Counter(row["group"] for row in data["train"])
    multi = sum(1 for n in per_group.values() if n > 1)
    print(f"== {data['name']}: {counts}; train groups {len(per_group)}, with more than one row {multi}")
    print(f"   stats: {data.get('stats')}")
    for row in data["train"][:3]:
        print(json.dumps(row, ensure_ascii=False, indent=1))


def main(argv: list[str]) -> None:
    cache_dir = Path(argv[0]) if argv else ROOT / "bench" / ".data" / "outcome"
    for build in (debian, manpages):
        start = time.perf_counter()
        data = build(cache_dir)
        print(f"[{build.__name__}: {time.perf_counter() - start:.1f} s]")
        _report(data)


if __name__ == "__main__":
    main(sys.argv[1:])
