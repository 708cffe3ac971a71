"""Python's library reference against the standard library's own docstrings, for the outcome benchmark.

  pydoc: one meaning per documented object (a function's, method's, class's... qualified name). Its two
         texts are written separately: the reference description (Debian's python3.11-doc, the first
         paragraph(s) of the Sphinx entry) and the object's own docstring in the CPython 3.11 that runs
         this code. anchor = the qualified name with the signature the reference shows, positive = one
         of the two texts (a seeded coin per meaning, so neither style is always the positive), corpus
         = the other; group = the object's module, so one module's objects, which share vocabulary,
         are all on one side of the split.

Distractors are texts of meanings in no row, half in each style: reference texts of objects whose
docstring is missing or unusable, and docstrings of objects with no usable reference text or none at
all (public functions, classes and methods of the same modules that the reference does not document).

The docstrings are read in a child interpreter: importing a few hundred modules is best kept out of the
caller's process (signal handlers, readline, warnings), and a module that warns or starts a thread on
import is easy to spot there and leave out.

Run as a script: `python bench/outcome_pydoc.py [CACHE_DIR]` (default bench/.data/outcome).
"""

from __future__ import annotations

import collections
import html
import importlib
import importlib.util
import inspect
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
from outcome_data import ROOT, SEED, _cached, _split_by_group, _squash, _truncate

PACKAGE = "python3.11-doc"
LIBRARY_HTML = "usr/share/doc/python3.11/html/library"
PYTHON = (3, 11)  # the reference's version; another interpreter's docstrings describe other objects
KINDS = ("function", "method", "class", "exception", "attribute", "data")
MIN_TEXT = 30  # "Return the base 2 logarithm of x." is informative; "Return str(self)." is not
FIRST_PARAGRAPHS = 600  # paragraphs after the first are added while the text stays this short
MAX_MEANINGS = 6000
TEST_SHARE, MIN_TEST, MIN_TRAIN = 0.2, 800, 2500  # the test share grows towards MIN_TEST while train keeps MIN_TRAIN
DISTRACTORS_PER_TEST, MIN_DISTRACTORS, MAX_DISTRACTORS = 3.5, 3000, 4000
NEAR_COPY = 0.8
# Not importable here (Windows), GUI or threads on use, the test suite, and modules that are deprecated
# in 3.11 (PEP 594 and older); any other module that warns on import is also left out, see _resolve_all.
SKIP_MODULES = frozenset({
    "msvcrt", "winreg", "winsound", "msilib", "_winapi", "nt", "tkinter", "turtle", "turtledemo", "idlelib",
    "test", "__main__", "this", "antigravity", "distutils", "lib2to3", "imp", "asynchat", "asyncore", "smtpd",
    "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "nis", "nntplib", "ossaudiodev",
    "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib",
})
# Blocks of an entry that are not its description; a <p> of these classes is skipped, not a stop.
_SKIPPED_P = {"availability", "audit-hook", "admonition-title", "rubric"}
_VOID = {"br", "img", "hr", "input", "meta", "link", "wbr", "col", "area", "base", "source"}
_SIGNATURE_LINE = re.compile(r"[\w.]+\(.*\)(\s*->.*)?")
# "new(name, data=b'') - Return a new...", "enable(file=sys.stderr): enable...", "overwrite(destwin) Overwrite..."
_SIGNATURE_DASH = re.compile(r"^[\w.]+\([^)]*\)(?:\s+-+>?\s+|:\s+|\s+(?=[A-Z]))")
_SECTION = re.compile(r"[A-Z][A-Za-z ]{2,30}:")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z])")
_EMPHASIS = re.compile(r"(?<![\w*])\*{1,2}(\w[\w.]*)\*{1,2}(?![\w*])")
_ROLE = re.compile(r":(?:[\w-]+:)*[\w-]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")


# ------------------------------------------------------------------------------------ reference


def _wrapper(tag: str, attrs: dict[str, str]) -> bool:
    """An indented description comes as <blockquote><div><p>; such wrappers are not blocks of their own."""
    return tag == "blockquote" or (tag == "div" and not attrs.get("class"))


class _Entry:
    def __init__(self, kind: str, depth: int, page: str) -> None:
        self.kind, self.depth, self.page = kind, depth, page
        self.ids: list[str] = []
        self.signature: list[str] = []  # what the first <dt> shows after the object's name
        self.blocks: list[tuple[str, str]] = []  # ("p", text) or ("other", tag) for each child of the <dd>
        self.dt_state = ""  # "", "before", "name", "after": where in the first <dt> the parser is
        self.dt_seen = False


class _ReferencePage(HTMLParser):
    """Sphinx `<dl class="py KIND">` entries of one page: ids, signature and the <dd>'s direct blocks.
    Only direct <p> children are prose; nested entries (a class's methods), code, notes and version
    notes are other blocks."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.open: list[_Entry] = []
        self.entries: list[_Entry] = []
        self.paragraph: list[str] | None = None
        self.paragraph_depth = 0
        self.muted = 0  # depth of a headerlink or footnote reference, whose text is dropped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        entry = self.open[-1] if self.open else None
        depth = len(self.stack)
        if entry and depth == entry.depth + 1 and tag == "dt":
            if "id" in a:
                entry.ids.append(a["id"])
            if not entry.dt_seen:
                entry.dt_seen, entry.dt_state = True, "before"
        elif entry and self._in_description(entry):
            if tag == "p" and not _SKIPPED_P.intersection(classes):
                self.paragraph, self.paragraph_depth = [], depth
            elif tag != "p" and not _wrapper(tag, a):
                entry.blocks.append(("other", tag))
        if entry and entry.dt_state == "before" and tag == "span" and "descname" in classes:
            entry.dt_state = "name"
        if self.muted or (tag == "a" and ("headerlink" in classes or "footnote-reference" in classes)):
            self.muted += 1
        if tag == "dl" and len(classes) == 2 and classes[0] == "py":
            self.open.append(_Entry(classes[1], depth, self.page))
        if tag not in _VOID:
            self.stack.append((tag, a))

    def _in_description(self, entry: _Entry) -> bool:
        """Whether a tag opened now is a block of the entry's own <dd>: a child, or inside wrappers only."""
        inner = self.stack[entry.depth + 1:]
        return len(inner) >= 1 and inner[0][0] == "dd" and all(_wrapper(t, a) for t, a in inner[1:])

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            top, _ = self.stack.pop()
            self._closed(top)
            if top == tag:
                break

    def _closed(self, tag: str) -> None:
        depth = len(self.stack)
        if self.muted:
            self.muted -= 1
        entry = self.open[-1] if self.open else None
        if not entry:
            return
        if tag == "span" and entry.dt_state == "name":
            entry.dt_state = "after"
        elif tag == "dt" and depth == entry.depth + 1:
            entry.dt_state = ""
        elif tag == "p" and self.paragraph is not None and depth == self.paragraph_depth:
            entry.blocks.append(("p", _squash("".join(self.paragraph))))
            self.paragraph = None
        elif tag == "dl" and depth == entry.depth:
            self.entries.append(self.open.pop())

    def handle_data(self, data: str) -> None:
        if self.muted or not self.open:
            return
        entry = self.open[-1]
        if entry.dt_state == "after":
            entry.signature.append(data)
        if self.paragraph is not None:
            self.paragraph.append(data)


def _first_paragraphs(paragraphs: list[str]) -> str:
    """The first paragraph, then the next ones while the text stays under FIRST_PARAGRAPHS; one that
    ends in ':' introduces what follows (a list, an example), which is not kept, so the colon's sentence
    goes too ("... Example:"), unless it is all there is (then it ends in a full stop). "See also"
    sentences point elsewhere and are dropped."""
    kept = paragraphs[:1]
    for p in paragraphs[1:]:
        long_enough = len(" ".join(kept)) >= MIN_TEXT  # "Extend a package's path." says too little alone
        if long_enough and (kept[-1].endswith(":") or len(" ".join(kept + [p])) > FIRST_PARAGRAPHS):
            break
        kept.append(p)
    sentences = [x for x in _SENTENCE_END.split(_squash(" ".join(kept))) if not x.startswith("See also")]
    if len(sentences) > 1 and sentences[-1].endswith(":"):
        sentences.pop()
    text = " ".join(sentences)
    return _truncate(text[:-1] + "." if text.endswith(":") else text)


def _reference_text(entry: _Entry) -> str:
    """Leading prose of the entry, up to its first non-paragraph block (code, a note, a list...)."""
    prose = []
    for kind, text in entry.blocks:
        if kind != "p":
            break
        if text:
            prose.append(text)
    return _first_paragraphs(prose)


def _anchor(qualname: str, signature: list[str]) -> str:
    """The qualified name and the signature as the reference shows it; an attribute's type or value
    (': int = 3') is left out, as it is no signature."""
    rest = _squash("".join(signature))
    return qualname + rest if rest.startswith("(") else qualname


def _read_reference(root: Path, stats: dict) -> dict[str, dict]:
    """qualified name -> {kind, anchor, reference text, page}. An entry with several names (os.execl,
    os.execle, ...) has one description for all of them: it is ambiguous and left out; a name that
    occurs twice keeps its first entry, pages in name order."""
    found: dict[str, dict] = {}
    for path in sorted((root / LIBRARY_HTML).glob("*.html")):
        parser = _ReferencePage(path.stem)
        parser.feed(path.read_text(encoding="utf-8"))
        for entry in parser.entries:
            stats["entries"] += 1
            if entry.kind not in KINDS:
                stats["ref_skipped_kind"] += 1
            elif len(entry.ids) != 1:
                stats["ref_skipped_shared_or_no_id"] += 1
            elif entry.ids[0] in found:
                stats["ref_skipped_repeated_name"] += 1
            else:
                found[entry.ids[0]] = {"kind": entry.kind, "anchor": _anchor(entry.ids[0], entry.signature),
                                       "text": html.unescape(_reference_text(entry)), "page": entry.page}
    return found


def _fetch_doc_deb(work: Path) -> Path:
    """Download the doc package and unpack it under `work`/root; nothing is installed."""
    for attempt in range(2):
        result = subprocess.run(["apt-get", "download", "-q", PACKAGE], cwd=work, capture_output=True, text=True,
                                check=False)
        if result.returncode == 0:
            break
        if attempt == 0:  # lists may be stale or missing; keep the en translations debian() reads
            subprocess.run(["apt-get", "update", "-qq", "-o", "Acquire::Languages=en"], check=False,
                           stdout=subprocess.DEVNULL)
    else:
        raise RuntimeError(f"apt-get download {PACKAGE} failed: {result.stderr[-2000:]}")
    root = work / "root"
    for deb in sorted(work.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


# ----------------------------------------------------------------------------------- docstrings


_GENERIC_DOCS = frozenset(getattr(v, "__doc__", None) for base in (object, type) for v in vars(base).values())


class _Skip(Exception):
    """A documented name whose docstring is not used; the message is the reason, counted in stats."""


def _import_clean(name: str, bad: dict[str, str]) -> Any:
    """Import `name`, or raise _Skip with why it is left out (it warned, started a thread, failed);
    `bad` remembers the verdict, as a second import would not warn again."""
    if name not in bad:
        threads = threading.active_count()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                importlib.import_module(name)
            except ModuleNotFoundError:
                bad[name] = "no_such_module"
            except BaseException as exc:  # noqa: BLE001 - SystemExit and the like from odd modules count too
                bad[name] = f"import_failed_{type(exc).__name__}"
        if name in bad:
            pass
        elif any(issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)) for w in caught):
            bad[name] = "deprecated_on_import"
        elif threading.active_count() > threads:
            bad[name] = "thread_on_import"
        else:
            bad[name] = ""
    if bad[name]:
        raise _Skip(bad[name])
    return sys.modules[name]


def _resolve(qualname: str, modules: set[str], bad: dict[str, str]) -> tuple[Any, Any, str]:
    """(object, its owner, module): the longest documented module the name starts with is imported
    (builtins if none), and the rest is looked up attribute by attribute."""
    parts = qualname.split(".")
    prefixes = [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
    module_name = next((p for p in prefixes if p in modules), "builtins")
    if module_name.split(".")[0] in SKIP_MODULES:
        raise _Skip("skipped_module")
    obj: Any = _import_clean(module_name, bad)
    owner = None
    for i in range(0 if module_name == "builtins" else module_name.count(".") + 1, len(parts)):
        owner = obj
        if hasattr(obj, parts[i]):
            obj = getattr(obj, parts[i])
        elif hasattr(obj, "__path__") and importlib.util.find_spec(".".join(parts[: i + 1])):
            obj = _import_clean(".".join(parts[: i + 1]), bad)  # a submodule its package does not import
        else:
            raise _Skip("unresolved")
    return obj, owner, module_name


def _own_doc(qualname: str, obj: Any, owner: Any) -> tuple[str, bool, bool]:
    """The docstring the object itself carries, whether the owner inherits it from a base class, and
    whether the name is an alias (os.error -> OSError): either way the text is first another name's.
    inspect.getdoc would fall back on a base class's text for an undocumented class, and a value (a
    constant) carries its type's text, not its own: both are skipped."""
    last = qualname.rsplit(".", 1)[-1]
    inherited = inspect.isclass(owner) and last not in vars(owner)
    if inherited:
        definer = next((c for c in owner.__mro__ if last in vars(c)), None)
        if getattr(definer, "__module__", "") == "builtins":  # "Initialize self.  See help(type(self))..."
            raise _Skip("inherited_from_builtin")
    name = getattr(obj, "__name__", None)
    alias = isinstance(name, str) and name != last and (inspect.isclass(obj) or callable(obj))
    doc = getattr(obj, "__doc__", None)
    if not isinstance(doc, str) or not doc.strip():
        raise _Skip("no_docstring")
    if not inspect.isclass(obj) and doc == getattr(type(obj), "__doc__", None):
        raise _Skip("type_docstring")
    if doc in _GENERIC_DOCS:  # a slot's stock text, "Initialize self.  See help(type(self))..."
        raise _Skip("inherited_from_builtin")
    return inspect.cleandoc(doc), inherited, alias


def _resolve_all(qualnames: list[str], modules: list[str]) -> dict[str, Any]:
    """{"docs": qualified name -> {"doc", "module", "inherited" (from a base class or another module),
    "alias"} or {"skip": reason}, "bad_modules": module -> why it was not imported, "undocumented": ...};
    run in the child interpreter."""
    bad: dict[str, str] = {}
    out: dict[str, dict] = {}
    for qualname in qualnames:
        try:
            obj, owner, module = _resolve(qualname, set(modules), bad)
            doc, inherited, alias = _own_doc(qualname, obj, owner)
            defined = getattr(obj, "__module__", None)  # secrets.choice is random's Random.choice
            foreign = isinstance(defined, str) and defined.lstrip("_") != module
            out[qualname] = {"doc": doc, "module": module, "inherited": inherited or foreign, "alias": alias}
        except _Skip as skip:
            out[qualname] = {"skip": str(skip)}
        except Exception:  # noqa: BLE001 - a property that raises, an odd __getattr__
            out[qualname] = {"skip": "lookup_failed"}
    # The public modules loaded by now under a documented package, documented or not (asyncio.base_events).
    clean = {name.split(".")[0] for name, why in bad.items() if not why}
    walk = sorted(name for name in list(sys.modules) if name.split(".")[0] in clean
                  and not any(part.startswith("_") for part in name.split(".")))
    return {"docs": out, "bad_modules": {k: v for k, v in sorted(bad.items()) if v},
            "undocumented": _undocumented(walk, set(qualnames))}


def _undocumented(modules: list[str], documented: set[str]) -> dict[str, dict]:
    """Docstrings of public functions, classes and methods of `modules` that the reference does not
    document: distractors in the docstring style, of meanings no row has. An object met under
    a second name keeps the first (modules and names in order); a re-export of a documented object
    carries that object's docstring and is dropped by the caller, which compares the texts."""
    seen: set[int] = set()
    out: dict[str, dict] = {}

    def add(qualname: str, obj: Any, module: str) -> None:
        doc = obj.__doc__ if isinstance(getattr(obj, "__doc__", None), str) else None
        if qualname not in documented and id(obj) not in seen and doc and doc.strip():
            out[qualname] = {"doc": inspect.cleandoc(doc), "module": module}
        seen.add(id(obj))

    for name in modules:
        for attr, obj in sorted(vars(sys.modules[name]).items()):
            if attr.startswith("_") or not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue
            add(f"{name}.{attr}", obj, name)
            if inspect.isclass(obj):
                for method, value in sorted(vars(obj).items()):
                    if not method.startswith("_") and (inspect.isroutine(value) or isinstance(value, property)):
                        add(f"{name}.{attr}.{method}", value, name)
    return out


def _child(path_in: str, path_out: str) -> None:
    request = json.loads(Path(path_in).read_text(encoding="utf-8"))
    result = _resolve_all(request["qualnames"], request["modules"])
    Path(path_out).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def _docstrings(qualnames: list[str], modules: list[str]) -> dict[str, Any]:
    """Raw docstrings from a child interpreter (see the module docstring); what imports print is discarded."""
    with tempfile.TemporaryDirectory(prefix="outcome-pydoc-") as tmp:
        path_in, path_out = Path(tmp) / "in.json", Path(tmp) / "out.json"
        path_in.write_text(json.dumps({"qualnames": qualnames, "modules": modules}), encoding="utf-8")
        result = subprocess.run([sys.executable, "-E", "-s", str(Path(__file__).resolve()), "--resolve",
                                 str(path_in), str(path_out)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, cwd=tmp, timeout=600, check=False)
        if result.returncode:
            raise RuntimeError(f"reading docstrings failed ({result.returncode}): {result.stderr[-2000:]}")
        return json.loads(path_out.read_text(encoding="utf-8"))


def _docstring_text(doc: str) -> str:
    """First prose paragraph(s) of a docstring: leading signature lines ('join(a, *p)', 'new(name,
    data=b'') - Return a new hashing object...') are dropped so the text does not repeat the anchor, and
    reST markup is taken off. Indented blocks (parameter lists) and bare signatures are skipped; a
    doctest, code, a '::' block or a section ("Parameters:") ends the prose."""
    lines = doc.splitlines()
    while lines and (_SIGNATURE_LINE.fullmatch(lines[0].strip()) or lines[0].strip() == "--"):
        lines.pop(0)  # "--" ends an Argument Clinic signature
    if lines:
        lines[0] = _SIGNATURE_DASH.sub("", lines[0])
    paragraphs, current = [], []
    for line in lines + [""]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    prose = []
    for block in paragraphs:
        if prose and block[0][:1].isspace() and not prose[-1].endswith((".", "!", "?", ")", ":")):
            prose[-1] = _drop_last_sentence(prose[-1])  # "Embedders will need to do something like" + code
            break
        if block[0][:1].isspace() or (len(block) > 1 and block[0].isidentifier() and block[1][:1].isspace()):
            continue  # Argument Clinic's parameters ("  value\n    Starting value of the checksum.")
        if len(block) > 1 and (_SECTION.fullmatch(block[0].strip()) or set(block[1].strip()) == {"-"}):
            break  # "Parameters:", "Returns:", numpy's underlined headings: no longer a description
        indent = len(block[0]) - len(block[0].lstrip())
        code = next((i for i, line in enumerate(block) if line.lstrip().startswith(">>>")
                     or (i and len(line) - len(line.lstrip()) > indent)), len(block))  # "Equivalent to:\n    def"
        text = _squash(" ".join(block[:code]))
        if text and not _SIGNATURE_LINE.fullmatch(text):  # "SimpleNamespace(**kwargs)" after the summary
            prose.append(text[:-1] if text.endswith("::") else text)
        if code < len(block) or text.endswith("::"):
            break
    return _first_paragraphs([_unmark(p) for p in prose])


def _drop_last_sentence(text: str) -> str:
    return " ".join(_SENTENCE_END.split(text)[:-1]) or text


def _unmark(text: str) -> str:
    """reST inline markup as plain text: :func:`~os.path.join` -> os.path.join, ``x``, `x`, *x* -> x."""
    text = _ROLE.sub(r"\1", text).replace("``", "")
    return _EMPHASIS.sub(r"\1", re.sub(r"`([^`\s][^`]*)`", r"\1", text))


# ---------------------------------------------------------------------------------------- build


def _pair_texts(reference: dict[str, dict], raw: dict[str, dict], stats: dict) -> dict[str, dict]:
    """qualified name -> {anchor, group, kind, ref, doc} with each text kept only if usable: long enough
    and said of this one meaning. A text two names share ("Alias for field number 0.", a docstring that
    repeats another object's reference text) answers neither and would be a false negative of the other;
    only a borrowed docstring (an inherited method's, an alias's) goes to the one name that owns it."""
    texts: dict[str, dict] = {}
    for name in sorted(reference):
        entry, got = reference[name], raw.get(name, {"skip": "not_resolved"})
        if got.get("alias") and entry["kind"] in ("attribute", "data"):
            got = {"skip": "value_of_attribute"}  # TestLoader.sortTestMethodsUsing: its default's docstring
        if "skip" in got:
            stats[f"doc_skipped_{got['skip']}"] += 1
        # A name whose docstring was not read takes its page as group (os.path.html -> os.path).
        texts[name] = {"anchor": entry["anchor"], "group": got.get("module") or entry["page"], "kind": entry["kind"],
                       "ref": entry["text"], "doc": _docstring_text(got["doc"]) if "doc" in got else "",
                       "borrowed": got.get("inherited", False) or got.get("alias", False)}
    holders: dict[str, list[str]] = collections.defaultdict(list)
    for name, t in texts.items():
        for style in ("ref", "doc"):
            if t[style] and len(t[style]) < MIN_TEXT:
                stats[f"{style}_skipped_short"] += 1
                t[style] = ""
        for text in dict.fromkeys(s for s in (t["ref"], t["doc"]) if s):
            holders[text].append(name)
    for text, names in holders.items():
        if len(names) == 1:
            continue
        own = [n for n in names if not (texts[n]["doc"] == text and texts[n]["borrowed"])]
        for name in names:
            if own != [name]:
                for style in ("ref", "doc"):
                    if texts[name][style] == text:
                        stats[f"{style}_skipped_shared_text"] += 1
                        texts[name][style] = ""
    stats["doc_borrowed_kept"] = sum(1 for t in texts.values() if t["doc"] and t["borrowed"])
    return texts


def _jaccard(a: str, b: str) -> float:
    wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return len(wa & wb) / max(1, len(wa | wb))


def _rows(texts: dict[str, dict], names: list[str]) -> tuple[list[dict], list[dict]]:
    """One row per complete meaning; a seeded coin picks which text is the positive, the other is its
    corpus paraphrase."""
    coins = np.random.default_rng([SEED, 1]).random(len(names)) < 0.5
    rows, corpus = [], []
    for name, ref_first in zip(names, coins):
        t = texts[name]
        positive, other = (("ref", "doc") if ref_first else ("doc", "ref"))
        rows.append({"anchor": t["anchor"], "positive": t[positive], "group": t["group"], "meaning": name,
                     "id": f"{name}#{positive}"})
        corpus.append({"id": f"{name}#{other}", "text": t[other], "group": t["group"], "meaning": name})
    return rows, corpus


def _distractors(others: dict[str, dict], n: int, taken: set[str]) -> list[dict]:
    """`n` texts of meanings in no row, half of each style where the pool allows (a seeded sample), so
    that the style of a document does not tell whether it answers an anchor; texts equal to a row's or
    corpus text are left out."""
    unusable = taken | {""}
    pool = {style: [(name, style) for name in sorted(others) if others[name][style] not in unusable]
            for style in ("ref", "doc")}
    rng = np.random.default_rng([SEED, 3])
    n_doc = min(len(pool["doc"]), n // 2)
    n_ref = min(len(pool["ref"]), n - n_doc)
    n_doc = min(len(pool["doc"]), n - n_ref)
    picked = [pool["doc"][i] for i in sorted(rng.choice(len(pool["doc"]), n_doc, replace=False))]
    picked += [pool["ref"][i] for i in sorted(rng.choice(len(pool["ref"]), n_ref, replace=False))]
    return [{"id": f"{name}#{style}", "text": others[name][style], "group": others[name]["group"], "meaning": name}
            for name, style in sorted(picked)]


def _check(data: dict[str, Any]) -> None:
    """The contract of every outcome set (see the module docstring of outcome_data); raises on a breach."""
    rows = data["train"] + data["test"]
    meaning_of: dict[str, set[str]] = collections.defaultdict(set)
    for row in rows:
        meaning_of[row["anchor"]].add(row["meaning"])
    if any(len(m) > 1 for m in meaning_of.values()):
        raise ValueError("an anchor maps to several meanings")
    if len({row["meaning"] for row in rows}) != len(rows):
        raise ValueError("a meaning has several rows")
    texts = {row["positive"] for row in rows} | {c["text"] for c in data["corpus"]}
    if texts & set(meaning_of):
        raise ValueError("an anchor equals a positive or corpus text")
    test_groups = {row["group"] for row in data["test"]}
    train_groups = {row["group"] for row in data["train"]}
    if test_groups & train_groups:
        raise ValueError("a group straddles the split")
    side = {row["meaning"]: ("test" if row["group"] in test_groups else "train") for row in rows}
    train_texts = ({t for row in data["train"] for t in (row["anchor"], row["positive"])}
                   | {c["text"] for c in data["corpus"] if side[c["meaning"]] == "train"})
    other_texts = ({t for row in data["test"] for t in (row["anchor"], row["positive"])}
                   | {c["text"] for c in data["corpus"] if side[c["meaning"]] == "test"}
                   | {d["text"] for d in data["distractors"]})
    if train_texts & other_texts:
        raise ValueError("a test or distractor text is on the train side")
    if {d["text"] for d in data["distractors"]} & (texts | set(meaning_of)):
        raise ValueError("a distractor equals a row or corpus text")
    if {d["meaning"] for d in data["distractors"]} & set(side):
        raise ValueError("a distractor is of a row's meaning")
    paraphrase = {c["meaning"]: c["text"] for c in data["corpus"]}
    if any(_squash(row["positive"]) == _squash(paraphrase[row["meaning"]]) for row in rows):
        raise ValueError("a paraphrase is a copy of its positive")
    if set(paraphrase) != set(side):
        raise ValueError("corpus and rows disagree on meanings")


def _undocumented_texts(undocumented: dict[str, dict], texts: dict[str, dict], stats: dict) -> dict[str, dict]:
    """Usable texts of undocumented objects: none equal to a documented object's text (a re-export or
    alias of it), none shared by two of them."""
    known = {t[style] for t in texts.values() for style in ("ref", "doc")}
    found = {name: {"doc": _docstring_text(v["doc"]), "group": v["module"]} for name, v in sorted(undocumented.items())}
    counts = collections.Counter(t["doc"] for t in found.values())
    kept = {name: t for name, t in found.items()
            if len(t["doc"]) >= MIN_TEXT and t["doc"] not in known and counts[t["doc"]] == 1 and "<==>" not in t["doc"]}
    stats["undocumented_docstrings"], stats["undocumented_kept"] = len(found), len(kept)
    return kept


def _assemble(texts: dict[str, dict], undocumented: dict[str, dict], stats: dict) -> dict[str, Any]:
    complete = []
    for name in sorted(texts):
        t = texts[name]
        if t["ref"] and t["doc"] and _squash(t["ref"]) == _squash(t["doc"]):
            stats["skipped_exact_copy"] += 1
            t["doc"] = ""  # one author's text twice: a single text, kept for the distractors
        elif t["ref"] and t["doc"]:
            complete.append(name)
    stats["meanings"], stats["complete"] = len(texts), len(complete)
    stats["ref_only"] = sum(1 for t in texts.values() if t["ref"] and not t["doc"])
    stats["doc_only"] = sum(1 for t in texts.values() if t["doc"] and not t["ref"])
    used = complete
    if len(used) > MAX_MEANINGS:
        used = sorted(np.random.default_rng([SEED, 2]).choice(used, MAX_MEANINGS, replace=False).tolist())
    rows, corpus = _rows(texts, used)
    n_test = max(round(TEST_SHARE * len(rows)), min(MIN_TEST, len(rows) - MIN_TRAIN))
    test, train = _split_by_group(rows, [n_test, len(rows)])
    kept = {row["meaning"] for row in train + test}
    corpus = [c for c in corpus if c["meaning"] in kept]
    taken = {row["positive"] for row in train + test} | {c["text"] for c in corpus}
    n = int(min(MAX_DISTRACTORS, max(MIN_DISTRACTORS, DISTRACTORS_PER_TEST * len(test))))
    others = {name: t for name, t in texts.items() if name not in kept}
    others.update({name: {"ref": "", **t} for name, t in undocumented.items()})
    distractors = _distractors(others, n, taken)
    paraphrase = {c["meaning"]: c["text"] for c in corpus}
    near = sum(1 for row in train + test if _jaccard(row["positive"], paraphrase[row["meaning"]]) >= NEAR_COPY)
    by_kind = collections.Counter(texts[row["meaning"]]["kind"] for row in train + test)
    stats.update({"rows": len(train) + len(test), "train": len(train), "test": len(test),
                  "distractors": len(distractors),
                  "distractor_docstrings": sum(1 for d in distractors if d["id"].endswith("#doc")),
                  "distractor_undocumented": sum(1 for d in distractors if d["meaning"] in undocumented),
                  "positive_is_reference": sum(1 for row in train + test if row["id"].endswith("#ref")),
                  "groups_train": len({r["group"] for r in train}), "groups_test": len({r["group"] for r in test}),
                  "rows_by_kind": dict(sorted(by_kind.items())), "near_copies": near,
                  "near_copy_share": round(near / max(1, len(train) + len(test)), 4)})
    data = {"name": "pydoc", "train": train, "test": test, "distractors": distractors, "corpus": corpus,
            "stats": dict(sorted(stats.items()))}
    _check(data)
    return data


def _build() -> dict[str, Any]:
    if sys.version_info[:2] != PYTHON:
        raise RuntimeError(f"pydoc pairs the {PACKAGE} reference with Python {PYTHON}'s docstrings; "
                           f"this is {sys.version.split()[0]}")
    stats: dict[str, Any] = collections.defaultdict(int)
    stats["python"] = sys.version.split()[0]
    with tempfile.TemporaryDirectory(prefix="outcome-pydoc-") as tmp:
        start = time.perf_counter()
        root = _fetch_doc_deb(Path(tmp))
        stats["fetch_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        modules = sorted({m for path in (root / LIBRARY_HTML).glob("*.html")
                          for m in re.findall(r' id="module-([\w.]+)"', path.read_text(encoding="utf-8"))})
        reference = _read_reference(root, stats)
    stats["parse_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    raw = _docstrings(sorted(reference), modules)
    stats["docstrings_s"] = round(time.perf_counter() - start, 2)
    stats["modules_not_imported"] = raw["bad_modules"]
    texts = _pair_texts(reference, raw["docs"], stats)
    return _assemble(texts, _undocumented_texts(raw["undocumented"], texts, stats), stats)


def pydoc(cache_dir: Path) -> dict[str, Any]:
    """Library reference vs docstrings of the same objects, split by module (see the module docstring)."""
    return _cached(Path(cache_dir) / "pydoc.json.gz", _build)


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str]) -> None:
    cache_dir = Path(argv[0]) if argv else ROOT / "bench" / ".data" / "outcome"
    start = time.perf_counter()
    data = pydoc(cache_dir)
    print(f"[pydoc: {time.perf_counter() - start:.1f} s]")
    print({k: len(data[k]) for k in ("train", "test", "distractors", "corpus")})
    print(json.dumps(data["stats"], indent=1))
    paraphrase = {c["meaning"]: c["text"] for c in data["corpus"]}
    rows = data["train"] + data["test"]
    for i in sorted(np.random.default_rng(SEED).choice(len(rows), 5, replace=False)):
        row = rows[i]
        print(json.dumps({"anchor": row["anchor"], "positive": row["positive"],
                          "paraphrase": paraphrase[row["meaning"]]}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--resolve"]:
        _child(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
