"""Find personal data (full 12-digit IDs, full names) and secrets in what a run leaves.

The tests scan task logs, XCom values, incidents, reports and work files with it, with the
IDs and names taken from a synthetic province's sources and ground truth. Text is compared
NFC-normalised and case-folded, JSON ``\\uXXXX`` escapes decoded; a name is found as a run
of whole words (``Nguyễn Văn An`` is not found inside ``Nguyễn Văn Anh``). A hit is
reported with a masked excerpt, so that the report itself leaks nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hotich.model import mask_id

_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_WORD = re.compile(r"\w+")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Columns of the synthetic province's files that hold personal IDs / names.
ID_COLUMNS = {
    "logical.parquet": ("sid", "h_id", "w_id", "true_pid", "true_h", "true_w"),
    "register.parquet": ("so_dinh_danh",),
    "truth.parquet": ("personal_id", "true_personal_id", "true_husband_id", "true_wife_id"),
}
NAME_COLUMNS = {
    "logical.parquet": ("name", "mother_name", "father_name", "h_name", "w_name"),
    "register.parquet": ("ho_ten", "ho_ten_cha", "ho_ten_me"),
}


def fold(text: str) -> str:
    """NFC, case-folded, JSON ``\\uXXXX`` escapes decoded (a text as the scanner reads it)."""
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    decoded = _SURROGATE.sub("\ufffd", decoded)  # an escaped pair half: not a letter
    return unicodedata.normalize("NFC", decoded).casefold()


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


@dataclass(frozen=True)
class Hit:
    """One piece of personal data (or a secret) found, with a masked excerpt."""

    where: str
    kind: str  # "personal ID", "full name" or "secret"
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.excerpt}"


def mask_name(name: str) -> str:
    """A name as a hit report shows it: initials only (``N. V. A.``)."""
    return " ".join(w[0].upper() + "." for w in name.split())


def mask_secret(secret: str) -> str:
    """A secret as a hit report shows it: its first 3 characters and its length."""
    return f"{secret[:3]}…({len(secret)} chars)"


class Scanner:
    """Finds given IDs, names and secrets in texts."""

    def __init__(
        self,
        ids: Iterable[str] = (),
        names: Iterable[str] = (),
        secrets: Iterable[str] = (),
    ) -> None:
        self.ids = frozenset(i for i in ids if isinstance(i, str) and _ID.fullmatch(i))
        folded = (" ".join(_words(fold(n))) for n in names if isinstance(n, str))
        self.names = frozenset(n for n in folded if len(n.split()) >= 2)
        self.lengths = sorted({len(n.split()) for n in self.names})
        self.first_words = frozenset(n.split()[0] for n in self.names)
        self.secrets = tuple(s for s in secrets if s)

    @classmethod
    def from_province(cls, out: Path, secrets: Iterable[str] = ()) -> Scanner:
        """The IDs and names of a synthetic province (``hotich_dev.synth`` output folder)."""
        ids: set[str] = set()
        names: set[str] = set()
        for file, cols in ID_COLUMNS.items():
            frame = pd.read_parquet(out / file, columns=list(cols))
            ids.update(frame.stack().dropna().astype(str))
        for file, cols in NAME_COLUMNS.items():
            frame = pd.read_parquet(out / file, columns=list(cols))
            names.update(frame.stack().dropna().astype(str))
        return cls(ids, names, secrets)

    def scan(self, where: str, text: str) -> list[Hit]:
        """Every ID, name and secret of the scanner found in ``text``."""
        hits: list[Hit] = []
        for secret in self.secrets:
            if secret in text:
                hits.append(Hit(where, "secret", mask_secret(secret)))
        if not text:
            return hits
        folded = fold(text)
        for m in _ID.finditer(folded):
            if m.group(0) in self.ids:
                hits.append(Hit(where, "personal ID", mask_id(m.group(0))))
        if self.names:
            words = _words(folded)
            starts = [i for i, w in enumerate(words) if w in self.first_words]
            for i in starts:
                for k in self.lengths:
                    candidate = " ".join(words[i : i + k])
                    if i + k <= len(words) and candidate in self.names:
                        hits.append(Hit(where, "full name", mask_name(candidate)))
        return hits

    def scan_all(self, items: Iterable[tuple[str, str]]) -> list[Hit]:
        """:meth:`scan` over ``(where, text)`` pairs."""
        return [hit for where, text in items for hit in self.scan(where, text)]


def file_texts(root: Path) -> Iterator[tuple[str, str]]:
    """``(path, text)`` of every file under ``root``: Parquet files as their cells' text,
    others decoded as UTF-8 (undecodable bytes replaced)."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            yield str(path), frame.astype(str).to_csv(index=False)
        else:
            yield str(path), path.read_bytes().decode("utf-8", errors="replace")


# --- credentials in the repository ---------------------------------------------------------

#: Names that say a value is a credential (a variable, keyword, key or setting).
CREDENTIAL_NAME = re.compile(
    r"(?i)pass(word|wd)?\b|passw|secret|token|api_?key|fernet|credential|private_key|client\b|_client"
)
_URI_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"()]+:([^@\s'\"/]+)@")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_CLOUD_TOKEN = re.compile(
    r"AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|xox[baprs]-[A-Za-z0-9-]{10,}"
    r"|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\."
)
# KEY: value / KEY=value in YAML, env, shell, INI and TOML files.
_SETTING = re.compile(r"(?m)^[ \t#-]*[\"']?([A-Za-z0-9_.-]+)[\"']?[ \t]*[:=][ \t]*(\S.*?)[ \t]*$")
_SUBSTITUTION_DEFAULT = re.compile(r"\$\{[A-Za-z0-9_]+:?-([^}]*)\}")


@dataclass(frozen=True)
class Finding:
    """A literal that looks like a credential, where it is."""

    path: str
    line: int
    kind: str
    value: str


def _credential_name(name: str) -> bool:
    """Whether a name says its value is a credential (``token_type`` does not)."""
    return bool(CREDENTIAL_NAME.search(name)) and not name.lower().endswith(("_type", "_url"))


def _placeholder(value: str) -> bool:
    """A value that stands for a credential instead of being one (or is prose)."""
    v = value.strip().strip("\"'")
    return (
        not v
        or " " in v
        or v.startswith(("$", "<", "{", "%", "*", ":"))
        or set(v) <= {"*", "x", "X", "."}
        or v.lower() in {"none", "null", "true", "false", "changeme", "..."}
    )


def _text_findings(path: str, text: str, line_of) -> list[Finding]:
    found = []
    for pattern, kind in ((_PRIVATE_KEY, "private key"), (_CLOUD_TOKEN, "cloud token")):
        found += [
            Finding(path, line_of(m.start()), kind, m.group(0)) for m in pattern.finditer(text)
        ]
    for m in _URI_PASSWORD.finditer(text):
        if not _placeholder(m.group(1)):
            found.append(Finding(path, line_of(m.start()), "password in a URI", m.group(1)))
    return found


def _python_findings(path: str, text: str) -> list[Finding]:
    import ast

    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found: list[Finding] = []

    def literal(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List)):
            return [v for elt in node.elts for v in literal(elt)]
        return []

    def named(name: str, value: ast.AST, line: int) -> None:
        if _credential_name(name):
            for v in literal(value):
                if not _placeholder(v):
                    found.append(Finding(path, line, f"literal for {name}", v))

    def name_of(target: ast.AST) -> str | None:
        if isinstance(target, ast.Name):
            return target.id
        if isinstance(target, ast.Attribute):
            return target.attr
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for t, v in zip(target.elts, node.value.elts, strict=False):
                        if (n := name_of(t)) and node.value is not None:
                            named(n, v, node.lineno)
                elif (n := name_of(target)) and node.value is not None:
                    named(n, node.value, node.lineno)
        elif isinstance(node, ast.keyword) and node.arg:
            named(node.arg, node.value, node.value.lineno)
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    named(k.value, v, v.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += _text_findings(path, node.value, lambda _pos, n=node.lineno: n)
    return found


def credential_findings(path: str, text: str) -> list[Finding]:
    """Literals in a file that look like credentials: a password in a URI, a private key,
    a cloud token, or a literal given to something named like a credential (a Python
    variable, keyword or dict key; a YAML/env/shell setting, a ``${X:-default}``'s default).
    Placeholders (``<secret>``, ``${X}``, ``***``) are not credentials."""

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    if path.endswith(".py"):
        return _python_findings(path, text)
    found = _text_findings(path, text, line_of)
    if path.endswith((".md", ".rst")):
        return found  # prose: only URIs, keys and tokens
    for m in _SETTING.finditer(text):
        key, value = m.group(1), m.group(2)
        if not _credential_name(key):
            continue
        defaults = _SUBSTITUTION_DEFAULT.findall(value)
        if defaults:
            found += [Finding(path, line_of(m.start()), f"default of {key}", d)
                      for d in defaults if not _placeholder(d)]  # fmt: skip
        elif not _placeholder(value) and not value.startswith(("#", "-v")):
            found.append(Finding(path, line_of(m.start()), f"value of {key}", value.strip("\"'")))
    return found
