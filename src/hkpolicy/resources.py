"""Knowledge shipped as data: load the package's CSV files, optionally extended by a researcher's own.

Every dictionary, rule set and lexicon the pipeline uses lives in ``hkpolicy/data/`` (see the ``*.md``
files there for their columns). ``load_table(name)`` reads one with ``importlib.resources``;
``load_table(name, extra=path)`` appends the rows of a user's CSV with the same columns, and those rows
win where a key column repeats (so a researcher can both add and override entries).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

import pandas as pd

DATA_PACKAGE = "hkpolicy.data"


def data_path(filename: str) -> Path:
    """Path of a data file shipped inside the package."""
    return Path(str(resources.files(DATA_PACKAGE).joinpath(filename)))


@lru_cache(maxsize=None)
def _read_packaged(filename: str) -> pd.DataFrame:
    with resources.files(DATA_PACKAGE).joinpath(filename).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def load_table(
    name: str,
    extra: str | Path | pd.DataFrame | Iterable[str | Path | pd.DataFrame] | None = None,
    key: str | list[str] | None = None,
) -> pd.DataFrame:
    """Read ``hkpolicy/data/<name>.csv`` as strings (empty cells are ``""``), plus any ``extra`` tables.

    ``extra`` is a path, a DataFrame, or a list of them, with the same columns as the packaged file
    (missing columns are filled with ``""``; unknown columns are an error, so a typo is never ignored).
    Where ``key`` is given, a later row replaces an earlier row with the same key.
    """
    table = _read_packaged(f"{name}.csv").copy()
    if extra is None:
        return table
    extras = [extra] if isinstance(extra, (str, Path, pd.DataFrame)) else list(extra)
    frames = [table]
    for item in extras:
        frame = item if isinstance(item, pd.DataFrame) else pd.read_csv(item, dtype=str, keep_default_na=False)
        unknown = sorted(set(frame.columns) - set(table.columns))
        if unknown:
            raise ValueError(f"{name}: unknown column(s) {unknown} in the extra table; expected {list(table.columns)}")
        frames.append(frame.reindex(columns=table.columns, fill_value="").astype(str))
    merged = pd.concat(frames, ignore_index=True)
    if key is not None:
        merged = merged.drop_duplicates(subset=key, keep="last")
    return merged.reset_index(drop=True)


def compile_alternation(patterns: Iterable[str], flags: int = 0, word_bounded: bool = True):
    """One matcher for many patterns; group ``p<i>`` tells which pattern matched (``m.lastgroup``).

    Dictionary look-ups are done with one compiled matcher per table, never one regex per entry per
    sentence. With ``word_bounded`` (the default) each match is delimited by non-word characters (look-
    arounds rather than \\b, so entries that begin or end with punctuation, "U.S.", "BN(O)", work) and the
    result is a ``FirstCharAlternation``: it behaves like ``re.finditer`` over the plain alternation (at
    each position the first pattern in table order that matches wins) but only tries, at each word
    start, the patterns that can begin with the character found there. Without ``word_bounded`` a plain
    compiled ``re.Pattern`` is returned.
    """
    patterns = list(patterns)
    if not word_bounded:
        parts = [f"(?P<p{i}>{pattern})" for i, pattern in enumerate(patterns)]
        return re.compile("|".join(parts), flags) if parts else re.compile(r"(?!x)x")
    return FirstCharAlternation(patterns, flags)


class FirstCharAlternation:
    """A word-bounded alternation dispatched on the first character (see ``compile_alternation``).

    One compiled regex: ``(?<!\\w)(?:(?=a)(?:patterns that can start with a)|(?=b)(?:...)|...)(?!\\w)``.
    The engine checks one character per bucket and tries only that bucket's patterns, in table order,
    so results equal those of the plain alternation. Patterns whose first character cannot be told are
    in every bucket. Matches are returned as ``AlternationMatch`` (``lastgroup`` is ``p<i>``).
    """

    def __init__(self, patterns: list[str], flags: int = 0):
        fold = bool(flags & re.IGNORECASE)
        buckets: dict[str, set[int]] = {}
        wildcard: set[int] = set()
        for i, pattern in enumerate(patterns):
            chars = _first_chars(pattern, flags)
            if chars is None:
                wildcard.add(i)
                continue
            for char in chars:
                buckets.setdefault(char.lower() if fold else char, set()).add(i)
        branches = []
        for char in sorted(buckets):
            members = sorted(buckets[char] | wildcard)
            body = "|".join(f"(?P<p{i}_{len(branches)}>{patterns[i]})" for i in members)
            branches.append(f"(?={re.escape(char)})(?:{body})")
        if wildcard:
            body = "|".join(f"(?P<p{i}_{len(branches)}>{patterns[i]})" for i in sorted(wildcard))
            branches.append(f"(?:{body})")
        self.regex = re.compile(rf"(?<!\w)(?:{'|'.join(branches)})(?!\w)", flags) if branches \
            else re.compile(r"(?!x)x")

    def finditer(self, text: str):
        """Non-overlapping matches, left to right, like ``re.finditer`` on the whole alternation."""
        for match in self.regex.finditer(text):
            yield AlternationMatch(match)

    def search(self, text: str):
        match = self.regex.search(text)
        return AlternationMatch(match) if match else None

    def subn(self, replacement: str, text: str) -> tuple[str, int]:
        return self.regex.subn(replacement, text)


class AlternationMatch:
    """A match of a ``FirstCharAlternation``: the ``re.Match`` methods used here, with ``lastgroup``
    naming the pattern's index in its table (``p<i>``)."""

    __slots__ = ("match", "lastgroup")

    def __init__(self, match: re.Match):
        self.match = match
        self.lastgroup = match.lastgroup.split("_", 1)[0]

    def start(self) -> int:
        return self.match.start()

    def end(self) -> int:
        return self.match.end()

    def span(self) -> tuple[int, int]:
        return self.match.span()

    def group(self, *args) -> str:
        return self.match.group(*args)


def _first_chars(pattern: str, flags: int) -> set[str] | None:
    """The characters a match of ``pattern`` can begin with, or None when that cannot be told."""
    try:
        parsed = re._parser.parse(pattern, flags)  # the stdlib's own regex parser
    except Exception:
        return None
    chars, nullable = _first_of_sequence(list(parsed))
    if chars is None or nullable or not chars:
        return None
    if flags & re.IGNORECASE:
        chars = {c.lower() for c in chars} | {c.upper() for c in chars}
    return chars


def _first_of_sequence(items) -> tuple[set[str] | None, bool]:
    """(first characters, can the sequence match empty)."""
    constants = re._constants
    result: set[str] = set()
    for op, value in items:
        if op in (constants.AT, constants.ASSERT, constants.ASSERT_NOT):
            continue  # zero-width: look at what follows
        if op is constants.LITERAL:
            return result | {chr(value)}, False
        if op is constants.IN:
            chars = set()
            for kind, item in value:
                if kind is constants.LITERAL:
                    chars.add(chr(item))
                elif kind is constants.RANGE and item[1] - item[0] < 128:
                    chars.update(chr(c) for c in range(item[0], item[1] + 1))
                else:
                    return None, False
            return result | chars, False
        if op is constants.SUBPATTERN:
            chars, nullable = _first_of_sequence(list(value[-1]))
        elif op is constants.BRANCH:
            chars, nullable = set(), False
            for branch in value[1]:
                branch_chars, branch_nullable = _first_of_sequence(list(branch))
                if branch_chars is None:
                    return None, False
                chars |= branch_chars
                nullable = nullable or branch_nullable
        elif op in (constants.MAX_REPEAT, constants.MIN_REPEAT, getattr(constants, "POSSESSIVE_REPEAT", None)):
            chars, nullable = _first_of_sequence(list(value[2]))
            nullable = nullable or value[0] == 0
        else:
            return None, False
        if chars is None:
            return None, False
        result |= chars
        if not nullable:
            return result, False
    return result, True


def literal_regex(literals: Iterable[str], flags: int = 0) -> re.Pattern:
    """A regex matching any of ``literals`` (exact strings), delimited by non-word characters.

    The alternation is built as a prefix tree, so the engine walks each string once instead of trying
    thousands of alternatives at every position, and the longest entry wins where several start at
    one place ("Guinea-Bissau" over "Guinea", "South Sudan" over "Sudan" does not arise: it starts
    earlier). Look the matched text up in a dict to know which entry it was.
    """
    trie: dict = {}
    for literal in sorted(set(literals)):
        if not literal:
            continue
        node = trie
        for char in literal:
            node = node.setdefault(char, {})
        node[""] = True
    body = _trie_to_regex(trie)
    if not body:
        return re.compile(r"(?!x)x")
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", flags)


def _trie_to_regex(node: dict) -> str:
    ends_here = "" in node
    branches = [re.escape(char) + _trie_to_regex(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    # Longer continuations first, so the engine prefers the longest entry.
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends_here:
        return f"(?:{body})?"
    return body
