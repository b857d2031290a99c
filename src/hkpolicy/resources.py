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


def compile_alternation(patterns: Iterable[str], flags: int = 0, word_bounded: bool = True) -> re.Pattern:
    """One compiled regex for many patterns; group ``p<i>`` tells which pattern matched (``m.lastgroup``).

    Dictionary look-ups are done with one alternation per table, never one regex per entry per sentence.
    Longer literal alternatives should come first where several can match at one place (callers sort).
    """
    # Look-arounds rather than \b, so that entries that begin or end with punctuation ("U.S.",
    # "BN(O)") are still delimited on both sides.
    left, right = (r"(?<!\w)", r"(?!\w)") if word_bounded else ("", "")
    parts = [f"(?P<p{i}>{left}(?:{pattern}){right})" for i, pattern in enumerate(patterns)]
    if not parts:
        return re.compile(r"(?!x)x")
    return re.compile("|".join(parts), flags)


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
