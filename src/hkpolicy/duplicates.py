"""Duplicates: the same story counted once.

Wire stories are syndicated, re-posted and scraped twice; a story copied by five outlets must not
vote five times in the stance tables. This step finds the copies; it never deletes anything.

The rule
--------
Two articles are copies of each other when

* **exact**: their texts are identical after ``normalise_for_duplicates`` (case folded, punctuation
  removed, whitespace folded), whatever the file format, outlet or headline; or
* **near**: the Jaccard similarity of their sets of word shingles (runs of ``shingle_size`` = 5
  consecutive normalised words) is at least ``threshold`` (0.8; see ``find_duplicates`` for why). The
  pairs worth comparing are found with seeded MinHash signatures and MinHashLSH (``datasketch``), so
  the work grows with the number of articles, not with the number of pairs; a pair is confirmed on the
  MinHash estimate when that is clearly above the threshold, and on the exact shingle sets when it is
  close. Articles with fewer than ``shingle_size`` words have no shingles and only take part in exact
  matching.

Copies are grouped transitively (connected components: if B copies A and C copies B, all three are
one group). Each group keeps one **representative**, chosen by a fixed rule:

1. the earliest non-empty ``date`` (the first to publish is the source; undated articles come last),
2. then the longest text (the fullest version),
3. then the smallest ``article`` id (so ties are still deterministic).

Every other member is a duplicate of the representative. Duplicates stay in the articles table (a
researcher can still read them) with ``duplicate_of`` set; the manifest marks them ``duplicate``;
``duplicate_ids`` lists them so that they do not vote.

Everything is deterministic: MinHash permutations are seeded, shingles are hashed with a fixed key,
and articles are processed in id order.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH

from .ingest import MANIFEST_COLUMNS

DUPLICATE_COLUMNS = ["article", "duplicate_of", "kind", "similarity"]  # find_duplicates
ARTICLE_EXTRA_COLUMNS = ["duplicate_of", "n_copies", "copy_outlets"]  # added to the articles by mark_duplicates

DEFAULT_THRESHOLD = 0.8
LSH_RECALL = 0.99  # wanted chance that LSH proposes a pair whose similarity is exactly the threshold

# Dashes and slashes separate words ("law—and" is "law and"); all other punctuation (and symbols) is
# dropped in place, so "U.S." is "us" and "China’s" is "chinas" whatever the quote style.
_SEPARATOR_CHARS = frozenset("-/\\|\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2E3A\u2E3B\uFE58\uFE63\uFF0D")
_WORD_OR_SPACE = re.compile(r"[^\W_]|\s")


@lru_cache(maxsize=65536)
def _replacement(char: str) -> str | None:
    """What ``normalise_for_duplicates`` does with one character: " " (separator), "" (dropped) or None (kept)."""
    if char in _SEPARATOR_CHARS:
        return " "
    return None if _WORD_OR_SPACE.match(char) else ""


# ASCII is done with one bytes.translate (fast); the few other characters of a text one by one.
_ASCII_SEPARATORS = bytes(code for code in range(128) if _replacement(chr(code)) == " ")
_ASCII_TABLE = bytes.maketrans(_ASCII_SEPARATORS, b" " * len(_ASCII_SEPARATORS))
_ASCII_DROPPED = bytes(code for code in range(128) if _replacement(chr(code)) == "")


# ----------------------------------------------------------------------------------------------
# Normalising and shingling
# ----------------------------------------------------------------------------------------------


def normalise_for_duplicates(text) -> str:
    """The text as compared for duplicates: lower-case, no punctuation, single spaces.

    In: any text (``None``/NaN count as ""). Out: the text NFKC-normalised (full-width letters,
    ligatures and non-breaking spaces become plain ones), case-folded, with dashes and slashes turned
    into spaces, every other punctuation mark or symbol removed, and runs of whitespace (line breaks
    included) folded into one space, without leading or trailing space. Two texts are exact duplicates
    when this gives the same non-empty string.

    >>> normalise_for_duplicates("  Hong Kong’s LAW—passed!\\n\\n(Reuters) ")
    'hong kongs law passed reuters'
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    if not text.isascii():
        for char in set(text):
            if ord(char) > 127:
                replacement = _replacement(char)
                if replacement is not None:
                    text = text.replace(char, replacement)
    # UTF-8 encodes non-ASCII characters without ASCII bytes, so the byte table touches ASCII only.
    text = text.encode("utf-8").translate(_ASCII_TABLE, _ASCII_DROPPED).decode("utf-8")
    return " ".join(text.split())


def _splitmix64(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


@lru_cache(maxsize=16)
def _position_multipliers(shingle_size: int) -> np.ndarray:
    """One fixed odd 64-bit multiplier per position in a shingle (so word order matters)."""
    return np.array([_splitmix64(position + 1) | 1 for position in range(shingle_size)], dtype=np.uint64)


def _shingle_hashes(words: list[str], shingle_size: int) -> np.ndarray:
    """32-bit hashes of the word shingles of ``words`` (one per position; repeats are harmless).

    Words are hashed with pandas' keyed SipHash (a fixed key, so the same in every run, unlike
    Python's ``hash``); a shingle's hash mixes its words' hashes with per-position multipliers.
    """
    count = len(words) - shingle_size + 1
    if count < 1:
        return np.empty(0, dtype=np.uint32)
    word_hashes = pd.util.hash_array(np.asarray(words, dtype=object), categorize=False)
    multipliers = _position_multipliers(shingle_size)
    combined = np.zeros(count, dtype=np.uint64)
    for position in range(shingle_size):
        combined += word_hashes[position:position + count] * multipliers[position]
    combined ^= combined >> np.uint64(33)
    combined *= np.uint64(0xFF51AFD7ED558CCD)
    combined ^= combined >> np.uint64(33)
    return (combined >> np.uint64(32)).astype(np.uint32)


def _identity(value):
    """MinHash ``hashfunc``: the shingles are already 32-bit hashes."""
    return value


@lru_cache(maxsize=32)
def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) for MinHashLSH: the most rows per band (fewest chance candidates) such that a pair
    whose similarity equals ``threshold`` is still proposed with probability >= ``LSH_RECALL``.

    (datasketch's own choice balances misses and false candidates equally, which misses more than half
    of the pairs right at the threshold; here candidates are cheap to check and misses are not.)
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if bands < 2:
            break
        if 1.0 - (1.0 - threshold ** rows) ** bands >= LSH_RECALL:
            best = (bands, rows)
    return best


# ----------------------------------------------------------------------------------------------
# Finding duplicates
# ----------------------------------------------------------------------------------------------


def _column(articles: pd.DataFrame, name: str) -> list[str]:
    if name not in articles.columns:
        return [""] * len(articles)
    return ["" if value is None or (isinstance(value, float) and value != value) else str(value).strip()
            for value in articles[name].tolist()]


def _find(parent: list[int], node: int) -> int:
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


def find_duplicates(articles: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD, num_perm: int = 128,
                    shingle_size: int = 5, seed: int = 1) -> pd.DataFrame:
    """Which articles copy which: one row per duplicate, none for the articles that are kept.

    In: ``articles``, the table of ``ingest.load_corpus`` (uses ``article``, which must be unique, ``text``
    and ``date``; a missing ``date`` column counts as undated; the row order does not matter).
    Out: a DataFrame with ``DUPLICATE_COLUMNS``, sorted by ``article``:

        article       the id of an article that copies another
        duplicate_of  the id of its group's representative (the article that is kept and votes)
        kind          "exact" (same text as the representative after ``normalise_for_duplicates``)
                      or "near" (the same story with edits)
        similarity    1.0 for exact copies; for near copies the Jaccard similarity of its shingle set and
                      the representative's (computed on the sets themselves, not estimated), rounded
                      to 4 places. It can be below ``threshold`` when the copy joined the group through
                      another copy (B copies A closely, C copies B closely, C and A differ more).

    Parameters:
        threshold     the Jaccard similarity of 5-word shingle sets at or above which two articles are
                      the same story (default 0.8). Why 0.8: an edited word breaks only the 5 shingles
                      that contain it, so a syndicated copy of an ordinary-length story (600+ words) with
                      a new headline, a reworded paragraph and a dropped sentence still shares well
                      over 80% of its shingles with the original (about 0.91 for bbc_10 edited that way).
                      Two different reports of the same statement or event share far less, even when
                      they quote the same official wording, because every sentence written
                      differently breaks all its shingles: in data/raw the closest pair of different
                      stories (hkgovt_15 and xinhua_12, on the same NPCSC statement) shares 6.5%.
                      A short brief (~300 words) with a whole paragraph rewritten can fall below 0.8;
                      lower the threshold to catch heavier rewrites, at the risk of joining different
                      stories that share long quoted passages.
        num_perm      MinHash permutations (more: fewer pairs left to the exact check, more memory).
        shingle_size  words per shingle; texts with fewer words only match exactly.
        seed          seed of the MinHash permutations (same seed, same result).

    How: each distinct text gets a MinHash signature of its shingles (``MinHash.update_batch``,
    seeded); MinHashLSH proposes candidate pairs (bands chosen so that a pair right at the threshold is
    proposed 99% of the time); a candidate is confirmed when its estimated similarity is clearly (by 4
    standard errors, 0.14 with 128 permutations) above the threshold, rejected when clearly below, and
    otherwise decided on the exact Jaccard of the two shingle sets. There is no all-pairs comparison:
    articles are indexed one by one in id order and each is compared only with its LSH candidates.
    Exact copies are collapsed first, so a story copied a thousand times verbatim costs one signature.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if num_perm < 2:
        raise ValueError(f"num_perm must be at least 2, got {num_perm}")
    if shingle_size < 1:
        raise ValueError(f"shingle_size must be at least 1, got {shingle_size}")
    empty = pd.DataFrame({"article": pd.Series(dtype=str), "duplicate_of": pd.Series(dtype=str),
                          "kind": pd.Series(dtype=str), "similarity": pd.Series(dtype=float)},
                         columns=DUPLICATE_COLUMNS)
    if articles is None or len(articles) == 0:
        return empty
    if "article" not in articles.columns or "text" not in articles.columns:
        raise ValueError("find_duplicates needs the columns 'article' and 'text'")

    ids = _column(articles, "article")
    if len(set(ids)) != len(ids):
        repeated = sorted(pd.Series(ids)[pd.Series(ids).duplicated()].unique())
        raise ValueError(f"article ids must be unique (the result is keyed by id); repeated: {repeated[:5]}")
    dates = _column(articles, "date")
    # Texts are read one at a time (a list of them all would double the corpus in memory).
    text_values = articles["text"].array
    lengths = [0] * len(ids)  # filled in as the texts are read

    def text_at(i: int) -> str:
        value = text_values[i]
        return "" if value is None or (isinstance(value, float) and value != value) or value is pd.NA else str(value)

    order = sorted(range(len(ids)), key=ids.__getitem__)  # id order: the result does not depend on row order

    def rank(i: int) -> tuple:  # the representative rule
        return (dates[i] == "", dates[i], -lengths[i], ids[i])

    # 1. Exact groups ("units"): identical normalised text. One signature per unit.
    unit_of: dict[int, int] = {}
    unit_members: list[list[int]] = []
    unit_by_key: dict[bytes, int] = {}
    unit_row: list[int] = []  # the unit's row in the signature matrix, -1 when too short to shingle
    row_unit: list[int] = []
    signatures = np.empty((0, num_perm), dtype=np.uint32)
    parent: list[int] = []
    bands, rows = _lsh_params(float(threshold), int(num_perm))
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=(bands, rows))
    template = MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity)
    # Estimates this far from the threshold decide on their own (4 standard errors of the estimate at
    # the threshold: a wrong call is about a 1-in-30,000 event); closer ones are settled on the exact sets.
    margin = max(4.0 * (threshold * (1.0 - threshold) / num_perm) ** 0.5, 1.0 / num_perm)

    @lru_cache(maxsize=2048)
    def shingle_set(row: int) -> np.ndarray:
        """Sorted distinct shingle hashes of a signature row's text (recomputed on demand, kept briefly)."""
        words = normalise_for_duplicates(text_at(unit_members[row_unit[row]][0])).split()
        return np.unique(_shingle_hashes(words, shingle_size))

    def exact_jaccard(row_a: int, row_b: int) -> float:
        a, b = shingle_set(row_a), shingle_set(row_b)
        common = np.intersect1d(a, b, assume_unique=True).size
        return common / (a.size + b.size - common)

    for i in order:
        text = text_at(i)
        lengths[i] = len(text)
        normalised = normalise_for_duplicates(text)
        if not normalised:
            continue  # nothing to compare: an empty text is nobody's copy
        key = hashlib.blake2b(normalised.encode("utf-8"), digest_size=16).digest()
        unit = unit_by_key.get(key)
        if unit is not None:
            unit_members[unit].append(i)
            unit_of[i] = unit
            continue
        unit = len(unit_members)
        unit_by_key[key] = unit
        unit_members.append([i])
        unit_of[i] = unit
        words = normalised.split()
        if len(words) < shingle_size:
            unit_row.append(-1)
            continue
        minhash = template.copy()
        minhash.update_batch(_shingle_hashes(words, shingle_size).tolist())
        row = len(row_unit)
        if row == len(signatures):
            grown = np.empty((max(64, 2 * row), num_perm), dtype=np.uint32)
            grown[:row] = signatures[:row]
            signatures = grown
        signatures[row] = minhash.hashvalues
        unit_row.append(row)
        row_unit.append(unit)
        parent.append(row)
        # 2. Near pairs: LSH candidates among the units seen so far, confirmed on their similarity.
        candidates = lsh.query(minhash)
        if candidates:
            candidates = np.sort(np.fromiter(candidates, dtype=np.int64, count=len(candidates)))
            estimates = np.count_nonzero(signatures[candidates] == signatures[row], axis=1) / num_perm
            root = _find(parent, row)
            for other, estimate in zip(candidates.tolist(), estimates.tolist()):
                if estimate < threshold - margin:
                    continue
                other_root = _find(parent, other)
                if other_root == root:
                    continue  # already in the group: this pair changes nothing
                if estimate >= threshold + margin or exact_jaccard(row, other) >= threshold:
                    parent[other_root] = root
        lsh.insert(row, minhash, check_duplication=False)

    # 3. Groups: the units whose rows ended up connected, plus every exact group.
    groups: dict[tuple, list[int]] = {}
    for unit, members in enumerate(unit_members):
        row = unit_row[unit]
        label = ("row", _find(parent, row)) if row >= 0 else ("unit", unit)
        groups.setdefault(label, []).extend(members)

    records = []
    for members in groups.values():
        if len(members) < 2:
            continue
        representative = min(members, key=rank)
        rep_unit = unit_of[representative]
        for member in members:
            if member == representative:
                continue
            if unit_of[member] == rep_unit:
                kind, similarity = "exact", 1.0
            else:
                similarity = exact_jaccard(unit_row[unit_of[member]], unit_row[rep_unit])
                kind, similarity = "near", round(similarity, 4)
            records.append((ids[member], ids[representative], kind, similarity))
    if not records:
        return empty
    result = pd.DataFrame(records, columns=DUPLICATE_COLUMNS)
    result["similarity"] = result["similarity"].astype(float)
    return result.sort_values(["article", "duplicate_of"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Marking them
# ----------------------------------------------------------------------------------------------


def _reason(kind: str, representative: str, similarity: float) -> str:
    if kind == "exact":
        return f"exact duplicate of {representative} (same text once case, punctuation and spacing are ignored)"
    return f"near-duplicate of {representative} (similarity {similarity:.2f})"


def mark_duplicates(articles: pd.DataFrame, manifest: pd.DataFrame,
                    duplicates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Record the duplicates found by ``find_duplicates`` in both tables; returns new ``(articles, manifest)``.

    In: the articles table and manifest of ``ingest.read_corpus``, and the ``find_duplicates`` result.
    The inputs are not modified.

    Out, manifest: the same rows; a row whose ``article`` is a duplicate gets ``status`` "duplicate",
    ``duplicate_of`` the representative's id and a plain ``reason``, e.g.
    "near-duplicate of real/x.csv#x (similarity 0.91)". Columns: ``MANIFEST_COLUMNS`` first (a missing
    ``duplicate_of`` is added, "" for the others), then any others it had.

    Out, articles: ALL articles still (duplicates included, so they can be read), with three columns
    added or replaced:

        duplicate_of  the representative's id for a duplicate, "" for an article that is kept
        n_copies      for a representative, how many other articles copy it; 0 otherwise
        copy_outlets  for a representative, the distinct non-empty outlets of its copies, sorted and
                      "; "-joined; "" if none
    """
    missing = [column for column in DUPLICATE_COLUMNS if column not in duplicates.columns]
    if missing:
        raise ValueError(f"duplicates table lacks columns {missing}; use find_duplicates")
    rows = duplicates.to_dict(orient="records")
    representative_of = {str(row["article"]): str(row["duplicate_of"]) for row in rows}
    reasons = {str(row["article"]): _reason(str(row["kind"]), str(row["duplicate_of"]), float(row["similarity"]))
               for row in rows}

    articles = articles.copy()
    ids = articles["article"].astype(str)
    outlets = dict(zip(ids, _column(articles, "outlet")))
    copies: dict[str, list[str]] = {}
    for copy, representative in representative_of.items():
        copies.setdefault(representative, []).append(copy)
    articles["duplicate_of"] = [representative_of.get(article, "") for article in ids]
    articles["n_copies"] = pd.Series([len(copies.get(article, [])) for article in ids], index=articles.index,
                                     dtype="int64")
    articles["copy_outlets"] = ["; ".join(sorted({outlets.get(copy, "") for copy in copies.get(article, [])} - {""}))
                                for article in ids]

    manifest = manifest.copy()
    if "duplicate_of" not in manifest.columns:
        manifest["duplicate_of"] = ""
    manifest["duplicate_of"] = manifest["duplicate_of"].fillna("").astype(str)
    manifest["reason"] = manifest["reason"].fillna("").astype(str)
    is_copy = manifest["article"].astype(str).isin(representative_of.keys())
    copy_ids = manifest.loc[is_copy, "article"].astype(str)
    manifest.loc[is_copy, "status"] = "duplicate"
    manifest.loc[is_copy, "duplicate_of"] = copy_ids.map(representative_of)
    manifest.loc[is_copy, "reason"] = copy_ids.map(reasons)
    ordered = [column for column in MANIFEST_COLUMNS if column in manifest.columns]
    manifest = manifest[ordered + [column for column in manifest.columns if column not in ordered]]
    return articles, manifest


def duplicate_ids(articles: pd.DataFrame) -> set[str]:
    """The ids of the articles that copy another (non-empty ``duplicate_of``): they do not vote.

    In: the articles table after ``mark_duplicates`` (or the ``find_duplicates`` table itself).
    Out: a set of ``article`` ids. Raises ``ValueError`` if there is no ``duplicate_of`` column, since
    that means the duplicates were never marked (rather than that there are none).
    """
    if "duplicate_of" not in articles.columns:
        raise ValueError("no 'duplicate_of' column: run find_duplicates and mark_duplicates first")
    marked = articles["duplicate_of"].fillna("").astype(str).str.strip() != ""
    return set(articles.loc[marked, "article"].astype(str))
