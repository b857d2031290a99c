"""Knowledge shipped as data: load the package's CSV files, optionally extended by a researcher's own.

Every dictionary, rule set and lexicon the pipeline uses lives in ``hkpolicy/data/`` (see the ``*.md``
files there for their columns). ``load_table(name)`` reads one with ``importlib.resources``;
``load_table(name, extra=path)`` appends the rows of a user's CSV with the same columns, and those rows
win where a key column repeats (so a researcher can both add and override entries).
"""

from __future__ import annotations

import bisect
import re
import weakref
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

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
    result is a ``KeyedAlternation``: it behaves exactly like ``re.finditer`` over the plain alternation
    (at each position the first pattern in table order that matches wins) but only tries, at each word
    start, the few patterns that can begin with the characters found there. Without ``word_bounded`` a
    plain compiled ``re.Pattern`` is returned.
    """
    patterns = list(patterns)
    if not word_bounded:
        parts = [f"(?P<p{i}>{pattern})" for i, pattern in enumerate(patterns)]
        return re.compile("|".join(parts), flags) if parts else re.compile(r"(?!x)x")
    return KeyedAlternation(patterns, flags)


_ALTERNATIONS: "weakref.WeakSet[KeyedAlternation]" = weakref.WeakSet()


def compile_alternations() -> None:
    """Compile every pattern of every ``KeyedAlternation`` built so far (before forking workers, so that
    they inherit compiled patterns instead of each compiling its own)."""
    for alternation in list(_ALTERNATIONS):
        alternation.compile_all()


# How many leading characters of a match key the look-up. Eight tell "the spokesman" from "the
# government", so a common first word does not make every pattern that begins with it a candidate;
# measured on the dev corpus, 3 was 13% slower overall and 12 no faster.
KEY_LENGTH = 8
# Where a pattern's possible beginnings would be more than this many strings, its keys stop short.
MAX_KEYS_PER_PATTERN = 256


class KeyedAlternation:
    """A word-bounded alternation of many patterns, matched by key (see ``compile_alternation``).

    Each pattern's possible first characters (up to ``KEY_LENGTH``; fewer where the pattern continues
    with something that cannot be enumerated, such as ``\\s+``) are read off the stdlib's own parse of
    the pattern. One prefix-tree regex over those keys (shared with the other tables of the same case
    rule: ``_SharedKeyScan``) finds, in a single scan, the word starts where some pattern can begin; there, the patterns keyed by what is found are tried one by one in
    table order, each compiled on its own as ``(?<!\\w)(?:pattern)(?!\\w)``, and the first that matches
    wins. This gives the same matches, in the same order, as ``re.finditer`` over the whole alternation
    (tested on every table and the corpus), at a fraction of the cost: the engine no longer tries
    hundreds of alternatives at every word. Case-insensitive tables are keyed on lower-cased text,
    folded as ``re.IGNORECASE`` folds it. A table with a pattern that cannot be keyed (one that can
    begin with any word character, say) falls back on a single alternation dispatched on the first
    character (``FirstCharAlternation``). Matches are ``AlternationMatch`` (``lastgroup`` is ``p<i>``).
    """

    def __init__(self, patterns: list[str], flags: int = 0):
        self.patterns = list(patterns)
        self.flags = flags
        self.fold = bool(flags & re.IGNORECASE)
        self._full = None
        _ALTERNATIONS.add(self)
        self.parts, part_of, keys = self._keyed_parts()
        self._index(part_of, keys)

    def _keyed_parts(self) -> tuple[list[str], list[int], list]:
        """(parts, the pattern of each part, the keys of each part: a set, None or ``NULLABLE``).

        What is matched: the patterns, except that one which cannot be keyed as a whole is split into its
        top-level alternatives ("threat to X|X at risk": the first can be keyed, the second needs "at
        risk"). Tried in order they give what the pattern gives; each part answers to its pattern's name."""
        parts: list[str] = []
        part_of: list[int] = []
        keys = []
        for index, pattern in enumerate(self.patterns):
            found = _pattern_keys(pattern, self.flags)
            branches = split_alternatives(pattern, self.flags) if found is None else [pattern]
            for branch in branches:
                parts.append(branch)
                part_of.append(index)
                keys.append(found if len(branches) == 1 else _pattern_keys(branch, self.flags))
        return parts, part_of, keys

    def _index(self, part_of: list[int], keys: list) -> None:
        """Set up the look-up of ``self.parts`` by their ``keys`` (``_keyed_parts``)."""
        flags = self.flags
        # A pattern that can match the empty string would need re.finditer's rules for empty matches.
        self.keyed = bool(self.patterns) and not any(found == NULLABLE for found in keys)
        if not self.keyed:
            return
        self._compiled: list[re.Pattern | None] = [None] * len(self.parts)  # compiled when first tried
        self._names = [f"p{index}" for index in part_of]
        by_key: dict[str, set[int]] = {}
        for index, found in enumerate(keys):
            for key in found or ():
                by_key.setdefault(key, set()).add(index)
        # The key scan reports the longest key at a position; the patterns keyed by its shorter
        # prefixes can begin there too.
        self.by_key = by_key
        # Every keyed table with this case rule is scanned for keys in one pass per text (``_SharedKeyScan``).
        self._shared = _SHARED_SCANS[self.fold]
        self._shared.changed()
        self._shared_found: tuple[int, dict[str, tuple[int, ...]]] = (-1, {})  # (scan version, candidates by key)
        # Patterns keyed by fewer than three characters (``[A-Z]\\w* University``) come up at many words;
        # the ones that need some literal text are not tried in a text without any of it.
        self.vague = {index: literals for index, found in enumerate(keys) if found and min(map(len, found)) < 3
                      for literals in [self._required_literals(index)] if literals}
        # Patterns that can begin with any word (``\\w+-nation statement``) are searched for together.
        self.unkeyed = [index for index, found in enumerate(keys) if found is None]
        self.unkeyed_regex = FirstCharAlternation([self.parts[i] for i in self.unkeyed], flags) \
            if self.unkeyed else None
        # If each of them needs some literal text ("statement"), a text with none of those has no match.
        required = [self._required_literals(i) for i in self.unkeyed]
        self.unkeyed_literals = None if None in required else sorted(set().union(*required))
        self._unkeyed_gate = literal_gate(self.unkeyed_literals) if self.unkeyed_literals else None
        self._vague_gates = {index: literal_gate(literals) for index, literals in self.vague.items()}

    def _required_literals(self, index: int) -> frozenset[str] | None:
        """Strings of which every match of part ``index`` contains one (``required_literals``), or None."""
        return required_literals(self.parts[index], self.flags, shortest=4)

    def _candidates_for(self, keys) -> dict[str, tuple[int, ...]]:
        """For each key found by a scan (the longest key at a position), this table's patterns that can
        begin there: those keyed by one of its prefixes, in table order; keys with none are left out."""
        # The keys that begin with one of this table's keys sit together in sorted order: for each of
        # its keys, walk that run only (the scan's keys are mostly other tables').
        ordered = sorted(keys)
        found: dict[str, set[int]] = {}
        for prefix, indices in self.by_key.items():
            for key in ordered[bisect.bisect_left(ordered, prefix):]:
                if not key.startswith(prefix):
                    break
                found.setdefault(key, set()).update(indices)
        return {key: tuple(sorted(indices)) for key, indices in found.items()}

    def _positions(self, probe: str) -> list[tuple[int, tuple[int, ...]]]:
        """(position, candidate patterns) of each word start of ``probe`` where a pattern can begin."""
        (_, keys, version), positions = self._shared.positions(probe)
        found = self._shared_found
        if found[0] != version:  # another table's keys joined the shared scan
            found = self._shared_found = (version, self._candidates_for(keys))
        candidates = found[1]
        return [(position, candidates[key]) for position, key in positions if key in candidates]

    def compile_all(self) -> None:
        """Compile every pattern now (they are otherwise compiled when first tried)."""
        if self.keyed:
            for index in range(len(self.parts)):
                self._pattern(index)
            self._positions("")  # builds the shared scan and this table's candidates
        else:
            self.full

    @property
    def full(self) -> "FirstCharAlternation":
        """The whole table as one alternation (built when first needed: fallback and ``subn``)."""
        if self._full is None:
            self._full = FirstCharAlternation(self.patterns, self.flags)
        return self._full

    def _pattern(self, index: int) -> re.Pattern:
        compiled = self._compiled[index]
        if compiled is None:
            compiled = self._compiled[index] = re.compile(rf"(?<!\w)(?:{self.parts[index]})(?!\w)", self.flags)
        return compiled

    def _next_unkeyed(self, text: str, position: int):
        """(start, table index, match) of the first unkeyed pattern's match at or after ``position``."""
        if self.unkeyed_regex is None or position > len(text):
            return None
        match = self.unkeyed_regex.regex.search(text, position)
        if match is None:
            return None
        index = self.unkeyed[int(match.lastgroup.split("_", 1)[0][1:])]
        return match.start(), index, match

    def finditer(self, text: str):
        """Non-overlapping matches, left to right, like ``re.finditer`` on the whole alternation: at each
        position, the first pattern in table order that matches wins."""
        if not self.keyed:
            return self.full.finditer(text)
        return iter(self._matches(text))

    def search(self, text: str):
        if not self.keyed:
            return self.full.search(text)
        found = self._matches(text, first=True)
        return found[0] if found else None

    def _matches(self, text: str, first: bool = False) -> list["AlternationMatch"]:
        """The matches of ``finditer`` as a list (only the first with ``first``). Called for every sentence
        and table, so the common case (no pattern that can begin with any word) has a lean loop."""
        probe = _fold_case(text) if self.fold else text
        unkeyed = None
        if self.unkeyed and (self._unkeyed_gate is None or self._unkeyed_gate(probe)):
            unkeyed = self._next_unkeyed(text, 0)
        if unkeyed is not None:
            return self._merged_matches(text, probe, unkeyed, first)
        found: list[AlternationMatch] = []
        if not self.by_key:
            return found
        end = 0
        compiled, names, vague = self._compiled, self._names, self._vague_gates
        present: dict[int, bool] = {}  # vague pattern -> is a literal it needs in the text (asked once)
        for position, candidates in self._positions(probe):
            if position < end:
                continue
            for index in candidates:
                if vague and index in vague:
                    found_literal = present.get(index)
                    if found_literal is None:
                        found_literal = present[index] = vague[index](probe)
                    if not found_literal:
                        continue  # the literal text it needs is absent
                match = (compiled[index] or self._pattern(index)).match(text, position)
                if match:
                    found.append(AlternationMatch(match, names[index]))
                    if first:
                        return found
                    end = match.end()
                    break
        return found

    def _merged_matches(self, text: str, probe: str, unkeyed, first: bool) -> list["AlternationMatch"]:
        """``_matches`` when some unkeyed pattern matches: its matches merged with the keyed ones."""
        found: list[AlternationMatch] = []
        positions = self._positions(probe) if self.by_key else ()
        absent = {index for index, gate in self._vague_gates.items() if not gate(probe)}
        end = 0
        for position, candidates in positions:
            # Unkeyed patterns' matches that begin before this position come first.
            while unkeyed is not None and unkeyed[0] < position:
                if unkeyed[0] >= end:
                    end = unkeyed[2].end()
                    found.append(AlternationMatch(unkeyed[2], self._names[unkeyed[1]]))
                    if first:
                        return found
                unkeyed = self._next_unkeyed(text, end)
            if position < end:
                continue
            rival = unkeyed[1] if unkeyed is not None and unkeyed[0] == position else len(self.parts)
            winner = None
            for index in candidates:
                if index > rival:
                    break
                if index in absent:
                    continue
                match = self._pattern(index).match(text, position)
                if match:
                    winner = index, match
                    break
            if winner is None and rival < len(self.parts):  # an unkeyed pattern wins here
                winner = rival, unkeyed[2]
            if winner is not None:
                end = winner[1].end()
                found.append(AlternationMatch(winner[1], self._names[winner[0]]))
                if first:
                    return found
            if unkeyed is not None and unkeyed[0] < end:
                unkeyed = self._next_unkeyed(text, end)
        while unkeyed is not None:
            end = unkeyed[2].end()
            found.append(AlternationMatch(unkeyed[2], self._names[unkeyed[1]]))
            if first:
                return found
            unkeyed = self._next_unkeyed(text, end)
        return found

    def subn(self, replacement: str, text: str) -> tuple[str, int]:
        return self.full.subn(replacement, text)


class _SharedKeyScan:
    """The key scan of every ``KeyedAlternation`` with one case rule, done once per text.

    A sentence is looked up in several tables (actors, speech verbs, targets ...); scanning it once with
    the union of their keys costs about what one table's scan did. At each word start the scan reports
    the longest key of the union found there; a table's patterns that can begin there are those keyed by
    one of that key's prefixes (the same set its own scan would give: every key found at a position is a
    prefix of the longest). The positions of the last few texts are kept, as each is asked for by several
    tables in turn."""

    def __init__(self):
        # (regex, keys, version), replaced as a whole when tables are added, so that a reader in another
        # thread always sees a regex with the keys it was built from.
        self.state: tuple[re.Pattern, frozenset[str], int] | None = None
        self._version = 0
        self._cache: dict[str, tuple[int, list[tuple[int, str]]]] = {}

    def changed(self) -> None:
        """A table was added: the union is rebuilt when next used."""
        self.state = None

    def positions(self, probe: str) -> tuple[tuple[re.Pattern, frozenset[str], int], list[tuple[int, str]]]:
        """(the scan's state, [(position, longest key found there)]) for each word start of ``probe`` (a
        position not preceded by a word character) where a key begins."""
        state = self.state or self._build()
        cached = self._cache.get(probe)
        if cached is not None and cached[0] == state[2]:
            return state, cached[1]
        # The regex matches the separator before a key (one character, its position in ``probe`` as the
        # space put in front shifts it by one), so keys that begin inside another key are found too; re
        # skips over word characters in C, where ``(?<!\w)(?=...)`` was tried at every position.
        found = [(match.start(), match.group(1)) for match in state[0].finditer(" " + probe)]
        if len(self._cache) >= 256:
            self._cache.clear()
        self._cache[probe] = (state[2], found)
        return state, found

    def _build(self) -> tuple[re.Pattern, frozenset[str], int]:
        keys = set()
        for table in list(_ALTERNATIONS):
            if table.keyed and table._shared is self:
                keys.update(table.by_key)
        regex = re.compile(rf"\W(?=({_trie_to_regex(_trie(keys))}))") if keys else re.compile(r"(?!x)x")
        self._version += 1
        self.state = (regex, frozenset(keys), self._version)
        return self.state


_SHARED_SCANS = {False: _SharedKeyScan(), True: _SharedKeyScan()}


def _trie(keys: Iterable[str]) -> dict:
    trie: dict = {}
    for key in sorted(set(keys)):
        node = trie
        for char in key:
            node = node.setdefault(char, {})
        node[""] = True
    return trie


def _case_classes() -> tuple[dict[int, str], object]:
    """What ``re.IGNORECASE`` folds beyond ``str.lower``: a translation onto one representative of each
    class of characters it treats as equal (e.g. "ſ" and "s"), and the simple lower-case mapping."""
    try:
        import _sre
        from re import _casefix

        extra = _casefix._EXTRA_CASES
        simple_lower = _sre.unicode_tolower
    except (ImportError, AttributeError):  # another Python: no extra classes known
        extra, simple_lower = {}, (lambda code: ord(chr(code).lower()[0]))
    canonical: dict[int, str] = {}
    for code, others in extra.items():
        members = {code, *others}
        representative = chr(min(members))
        for member in members:
            if chr(member) != representative:
                canonical[member] = representative
    return canonical, simple_lower


_CANONICAL, _SIMPLE_LOWER = _case_classes()


_CANONICAL_CHARS = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_CANONICAL)) + "]") \
    if _CANONICAL else re.compile(r"(?!x)x")
_FOLDED: dict[str, str] = {}  # the last few non-ASCII texts folded: each sentence is folded for several tables


def _fold_case(text: str) -> str:
    """``text`` lower-cased the way ``re.IGNORECASE`` compares characters, one character per character."""
    if text.isascii():
        return text.lower()
    folded = _FOLDED.get(text)
    if folded is not None:
        return folded
    folded = text.lower()
    if len(folded) != len(text):  # "İ".lower() is two characters; the regex engine uses the simple mapping
        folded = "".join(chr(_SIMPLE_LOWER(ord(char))) for char in text)
    if _CANONICAL_CHARS.search(folded):
        folded = folded.translate(_CANONICAL)
    if len(_FOLDED) >= 256:
        _FOLDED.clear()
    _FOLDED[text] = folded
    return folded


NULLABLE = "nullable"


def split_alternatives(pattern: str, flags: int = 0) -> list[str]:
    """The top-level alternatives of ``pattern`` ("a|b(c|d)" gives "a" and "b(c|d)"), or ``[pattern]`` when
    it has none or cannot be split safely: a back-reference, a conditional group or a global inline flag,
    which belong to the whole pattern, or an alternative that is not a valid regex on its own."""
    if "|" not in pattern or re.search(r"\\[1-9]|\(\?P=|\(\?\(|^\(\?[aiLmsux]+\)", pattern):
        return [pattern]
    branches, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += 1 + (pattern[i + 1:i + 2] == "^")  # a "]" right after "[" or "[^" is a literal
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        i += 1
    branches.append(pattern[start:])
    if len(branches) == 1:
        return [pattern]
    try:
        for branch in branches:
            re.compile(branch, flags)
    except re.error:
        return [pattern]
    return branches


def _parse(pattern: str, flags: int) -> tuple[list | None, bool] | None:
    """(the stdlib's parse of ``pattern`` as a list of items, case-insensitive?); None for an invalid
    regex; items None when a global inline flag changes the case rule (nothing can be read off then)."""
    try:
        parsed = re._parser.parse(pattern, flags)  # the stdlib's own regex parser
    except Exception:
        return None
    fold = bool(flags & re.IGNORECASE)
    if bool(parsed.state.flags & re.IGNORECASE) != fold:  # a global (?i) inside the pattern
        return None, fold
    return list(parsed), fold


def _pattern_keys(pattern: str, flags: int) -> set[str] | str | None:
    """The strings (at most ``KEY_LENGTH`` long, folded if case-insensitive) that every match of
    ``pattern`` begins with one of; None when they cannot be told, ``NULLABLE`` if it can match ""."""
    parsed = _parse(pattern, flags)
    if parsed is None:
        return NULLABLE  # not a valid regex: let the single alternation report it
    items, fold = parsed
    if items is None:
        return None
    found = _sequence_keys(items, fold)
    if found is None:
        return None
    if ("", False) in found:
        return NULLABLE
    if any(not key for key, _ in found):
        return None
    return {key for key, _ in found}


def required_literals(pattern: str, flags: int = 0, shortest: int = 3) -> frozenset[str] | None:
    """Strings (folded if case-insensitive) of which every match of ``pattern`` contains at least one, read
    off the stdlib's parse: runs of plain characters, alternatives' sets joined, optional parts skipped.
    None when no such set of strings of at least ``shortest`` characters can be told."""
    items, fold = _parse(pattern, flags) or (None, False)
    if items is None:
        return None
    found = _sequence_literals(items, fold, shortest)
    return frozenset(found) if found else None


def _sequence_literals(items, fold: bool, shortest: int) -> set[str] | None:
    """The most selective requirement among a sequence's parts (the set whose shortest string is longest).

    Consecutive parts that each match one of a few fixed strings ("at ", "(?:risk|stake)") are read as
    their joined strings ("at risk", "at stake"), which are rarer than either part alone."""
    constants = re._constants
    options: list[set[str]] = []
    run = {""}  # the fixed strings of the current run of such parts

    def close_run() -> None:
        if min(map(len, run)) >= shortest:
            options.append(run)

    for op, value in list(items) + [(None, None)]:
        fixed = _fixed_strings(op, value, fold) if op is not None else None
        if fixed is not None:
            joined = {before + after for before in run for after in fixed}
            if len(joined) <= MAX_KEYS_PER_PATTERN:
                run = joined
                continue
            close_run()
            run = fixed
            continue
        close_run()
        run = {""}
        inner = None
        if op is constants.SUBPATTERN:
            _, add_flags, del_flags, body = value
            if (add_flags | del_flags) & re.IGNORECASE:
                continue  # a different case rule inside: no requirement taken from it
            inner = _sequence_literals(list(body), fold, shortest)
        elif op is constants.BRANCH:
            branches = [_sequence_literals(list(branch), fold, shortest) for branch in value[1]]
            inner = set().union(*branches) if all(branches) else None
        elif op in (constants.MAX_REPEAT, constants.MIN_REPEAT, getattr(constants, "POSSESSIVE_REPEAT", None)):
            if value[0] >= 1:
                inner = _sequence_literals(list(value[2]), fold, shortest)
        if inner:
            options.append(inner)
    if not options:
        return None
    return max(options, key=lambda option: (min(map(len, option)), -len(option)))


def _fixed_strings(op, value, fold: bool) -> set[str] | None:
    """The strings a parsed item matches when they are few and fixed (a character, or a group or
    alternation of such sequences), else None."""
    constants = re._constants
    if op is constants.LITERAL:
        return {_fold_char(value, fold)}
    if op is constants.SUBPATTERN:
        _, add_flags, del_flags, body = value
        if (add_flags | del_flags) & re.IGNORECASE:
            return None
        return _fixed_sequence(list(body), fold)
    if op is constants.BRANCH:
        found: set[str] = set()
        for branch in value[1]:
            strings = _fixed_sequence(list(branch), fold)
            if strings is None:
                return None
            found |= strings
        return found if len(found) <= MAX_KEYS_PER_PATTERN else None
    return None


def _fixed_sequence(items, fold: bool) -> set[str] | None:
    strings = {""}
    for op, value in items:
        fixed = _fixed_strings(op, value, fold)
        if fixed is None:
            return None
        strings = {before + after for before in strings for after in fixed}
        if len(strings) > MAX_KEYS_PER_PATTERN:
            return None
    return strings


class PrefilteredPattern:
    """A compiled regex that is only run on texts containing one of its ``required_literals``: a text
    without any of them has no match, so ``search``/``match``/``finditer`` answer at once. Used for the
    sentence frames, searched in every sentence though most sentences have none."""

    def __init__(self, pattern: re.Pattern, literals: frozenset[str]):
        self.regex = pattern
        self.pattern, self.flags = pattern.pattern, pattern.flags
        self.literals = tuple(sorted(literals))
        self._gate = literal_gate(self.literals)
        self.fold = bool(pattern.flags & re.IGNORECASE)

    def _possible(self, text: str) -> bool:
        probe = _fold_case(text) if self.fold else text
        return self._gate(probe)

    def search(self, text: str, *args):
        return self.regex.search(text, *args) if self._possible(text) else None

    def match(self, text: str, *args):
        return self.regex.match(text, *args) if self._possible(text) else None

    def fullmatch(self, text: str, *args):
        return self.regex.fullmatch(text, *args) if self._possible(text) else None

    def finditer(self, text: str, *args):
        return self.regex.finditer(text, *args) if self._possible(text) else iter(())


def literal_gate(literals) -> "Callable[[str], bool]":
    """A test of whether a text contains any of ``literals`` (plain strings): one scan of the text by a
    compiled alternation, instead of one ``in`` per literal."""
    regex = re.compile("|".join(re.escape(literal) for literal in sorted(literals, key=lambda x: (-len(x), x))))
    return lambda text: regex.search(text) is not None


def prefiltered(pattern: str, flags: int = 0) -> "re.Pattern | PrefilteredPattern":
    """``re.compile(pattern, flags)``, wrapped in a ``PrefilteredPattern`` when its matches need one of a
    few literals (``required_literals``)."""
    compiled = re.compile(pattern, flags)
    literals = required_literals(pattern, flags)
    return PrefilteredPattern(compiled, literals) if literals else compiled


TAIL_CHARS_PER_WORD = 24  # characters of a text's end read per word ``search_tail`` looks back (more if needed)


def search_tail(pattern, text: str):
    """``pattern.search(text)`` for a pattern anchored at the end (``...$``), such as "a preposition right
    before this point": the search starts where the last few words of ``text`` begin, as many as a match
    can span (``tail_words``), so it finds the same match without trying every earlier position of a long
    text (\\b and look-behinds still see what precedes). Other patterns are searched as usual.
    ``pattern``: a compiled regex or a ``PrefilteredPattern``."""
    words = tail_words(getattr(pattern, "regex", pattern))
    if words is None:
        return pattern.search(text)
    # Where the last ``words`` words begin, read off the end of the text (the whole text only when the
    # end is short of words): a word cut at the slice's start leaves the last ``words`` words whole.
    tail = text[-TAIL_CHARS_PER_WORD * words:]
    parts = tail.rsplit(None, words)
    if len(parts) <= words and len(tail) < len(text):
        tail, parts = text, text.rsplit(None, words)
    return pattern.search(text, len(text) - len(tail) + len(parts[0]) if len(parts) > words else 0)


@lru_cache(maxsize=None)
def tail_words(regex: re.Pattern) -> int | None:
    """For a pattern whose every match ends at the end of the text (each alternative ends with ``$`` or
    ``\\Z``, no MULTILINE): how many whitespace-separated words a match can span at most, read off the
    stdlib's parse (whitespace runs it can contain, plus one). None when not so anchored or unbounded
    (a repeat of something that can match both spaces and other characters, such as ``.*``)."""
    if regex.flags & re.MULTILINE:
        return None
    parsed = _parse(regex.pattern, regex.flags)
    if parsed is None or parsed[0] is None or not _end_anchored(parsed[0]):
        return None
    runs = _space_runs(parsed[0])
    return None if runs is None else runs + 1


def _end_anchored(items) -> bool:
    constants = re._constants
    if not items:
        return False
    op, value = items[-1]
    if op is constants.AT:
        return value in (constants.AT_END, constants.AT_END_STRING)
    if op is constants.SUBPATTERN:
        return _end_anchored(list(value[3]))
    if op is constants.BRANCH:
        return all(_end_anchored(list(branch)) for branch in value[1])
    return False


def _space_runs(items) -> int | None:
    """The most runs of whitespace a match of a parsed sequence can contain (an upper bound), or None."""
    constants = re._constants
    total = 0
    for op, value in items:
        if op in (constants.AT, constants.ASSERT, constants.ASSERT_NOT):
            continue  # zero-width
        if op in (constants.LITERAL, constants.NOT_LITERAL, constants.ANY, constants.IN):
            total += 1 if _can_match_space(op, value) else 0
        elif op is constants.SUBPATTERN:
            inner = _space_runs(list(value[3]))
            if inner is None:
                return None
            total += inner
        elif op is constants.BRANCH:
            inner = [_space_runs(list(branch)) for branch in value[1]]
            if None in inner:
                return None
            total += max(inner)
        elif op in (constants.MAX_REPEAT, constants.MIN_REPEAT, getattr(constants, "POSSESSIVE_REPEAT", None)):
            low, high, body = value
            inner = _space_runs(list(body))
            if inner is None:
                return None
            if inner and all(op2 in (constants.LITERAL, constants.IN) and not _can_match_other(op2, value2)
                             for op2, value2 in body):
                total += 1  # only whitespace repeated ("\\s+"): one run however long
            elif inner and high == constants.MAXREPEAT:
                return None
            else:
                total += inner * high
        else:
            return None  # back-references, atomic groups ...: not read
    return total


def _can_match_space(op, value) -> bool:
    constants = re._constants
    if op is constants.LITERAL:
        return chr(value).isspace()
    if op is not constants.IN:
        return True  # any character, or any but one
    for item_op, item in value:
        if item_op is constants.LITERAL and not chr(item).isspace():
            continue
        if item_op is constants.CATEGORY and item in (constants.CATEGORY_WORD, constants.CATEGORY_DIGIT,
                                                      constants.CATEGORY_NOT_SPACE, constants.CATEGORY_UNI_WORD,
                                                      constants.CATEGORY_UNI_DIGIT, constants.CATEGORY_UNI_NOT_SPACE):
            continue
        # A range of characters without whitespace (none lies above U+3000, the ideographic space).
        if item_op is constants.RANGE and not any(chr(code).isspace()
                                                  for code in range(item[0], min(item[1], 0x3000) + 1)):
            continue
        return True  # a space, a negated set, a category with spaces: conservatively yes
    return False


def _can_match_other(op, value) -> bool:
    """Whether a character item can match something other than whitespace."""
    constants = re._constants
    if op is constants.LITERAL:
        return not chr(value).isspace()
    if op is not constants.IN:
        return True
    return any(not (item_op is constants.CATEGORY and item in (constants.CATEGORY_SPACE, constants.CATEGORY_UNI_SPACE))
               and not (item_op is constants.LITERAL and chr(item).isspace()) for item_op, item in value)


def _fold_char(code: int, fold: bool) -> str:
    char = chr(code)
    return chr(_SIMPLE_LOWER(code)).translate(_CANONICAL) if fold else char


def _sequence_keys(items, fold: bool) -> set[tuple[str, bool]] | None:
    """(beginning, closed) pairs for a sequence of parsed items: closed beginnings cannot be extended
    (the key length is reached or what follows cannot be enumerated); open ones end with the sequence."""
    current = {("", False)}
    for item in items:
        following = _item_keys(item, fold)
        if following is None:
            return None
        extended = set()
        for start, closed in current:
            if closed:
                extended.add((start, True))
                continue
            for more, more_closed in following:
                key = (start + more)[:KEY_LENGTH]
                extended.add((key, more_closed or len(key) >= KEY_LENGTH))
        if len(extended) > MAX_KEYS_PER_PATTERN:  # too many to list: end the keys before this item
            return {(start, True) for start, _ in current}
        current = extended
        if all(closed for _, closed in current):
            break
    return current


def _item_keys(item, fold: bool) -> set[tuple[str, bool]] | None:
    constants = re._constants
    op, value = item
    if op is constants.LITERAL:
        return {(_fold_char(value, fold), False)}
    if op in (constants.AT, constants.ASSERT, constants.ASSERT_NOT):
        return {("", False)}  # zero-width: a superset of beginnings is still right
    if op is constants.IN:
        chars = set()
        for kind, member in value:
            if kind is constants.LITERAL:
                chars.add(_fold_char(member, fold))
            elif kind is constants.RANGE and member[1] - member[0] < 64:
                chars.update(_fold_char(code, fold) for code in range(member[0], member[1] + 1))
            else:  # negated sets, categories (\\w, \\s ...), large ranges
                return {("", True)}
        return {(char, False) for char in chars}
    if op is constants.SUBPATTERN:
        _, add_flags, del_flags, body = value
        if add_flags & re.IGNORECASE and not fold:  # (?i:...) in a case-sensitive table
            return {("", True)}
        # (?-i:...) in a case-insensitive table: its keys folded too are a superset, which is enough.
        return _sequence_keys(list(body), fold)
    if op is constants.BRANCH:
        found: set[tuple[str, bool]] = set()
        for branch in value[1]:
            keys = _sequence_keys(list(branch), fold)
            if keys is None:
                return None
            found |= keys
        return found
    if op in (constants.MAX_REPEAT, constants.MIN_REPEAT, getattr(constants, "POSSESSIVE_REPEAT", None)):
        low, high, body = value
        once = _sequence_keys(list(body), fold)
        if once is None:
            return None
        if high != 1:  # more copies may follow the first: stop the key there
            once = {(key, True) for key, _ in once}
        return once | {("", False)} if low == 0 else once
    return {("", True)}  # anything else (., back-references ...) ends the key


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
    """A match of a ``KeyedAlternation`` or ``FirstCharAlternation``: the ``re.Match`` methods used here, with ``lastgroup``
    naming the pattern's index in its table (``p<i>``)."""

    __slots__ = ("match", "lastgroup")

    def __init__(self, match: re.Match, lastgroup: str | None = None):
        self.match = match
        self.lastgroup = lastgroup or match.lastgroup.split("_", 1)[0]

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


class KeyedLiterals(KeyedAlternation):
    """``literal_regex(literals, flags)``'s matches (the longest of many exact strings, word-bounded), found
    through the shared key scan (``_SharedKeyScan``): its regex is only tried at the word starts where
    one of the strings can begin (their first ``KEY_LENGTH`` characters), instead of scanning each text
    again. Matches are ``AlternationMatch`` (``group``, ``start``, ``end``; ``lastgroup`` is ``p0``)."""

    def __init__(self, literals: Iterable[str], flags: int = 0):
        self.literals = sorted({literal for literal in literals if literal})
        super().__init__([_trie_to_regex(_trie(self.literals))] if self.literals else [], flags)

    def _keyed_parts(self) -> tuple[list[str], list[int], list]:
        keys = {"".join(_fold_char(ord(char), self.fold) for char in literal[:KEY_LENGTH])
                for literal in self.literals}
        return list(self.patterns), [0] * len(self.patterns), [keys] * len(self.patterns)

    def _required_literals(self, index: int) -> None:
        return None  # exact strings, each keyed by its own beginning: nothing to gate on


def compile_literals(literals: Iterable[str], flags: int = 0) -> KeyedLiterals:
    """A matcher of exact strings for texts that dictionary tables are also looked up in (sentences): the
    matches of ``literal_regex``, at a fraction of the cost (``KeyedLiterals``)."""
    return KeyedLiterals(literals, flags)


def literal_regex(literals: Iterable[str], flags: int = 0) -> re.Pattern:
    """A regex matching any of ``literals`` (exact strings), delimited by non-word characters.

    The alternation is built as a prefix tree, so the engine walks each string once instead of trying
    thousands of alternatives at every position, and the longest entry wins where several start at
    one place ("Guinea-Bissau" over "Guinea", "South Sudan" over "Sudan" does not arise: it starts
    earlier). Look the matched text up in a dict to know which entry it was.
    """
    trie = _trie(literal for literal in literals if literal)
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
