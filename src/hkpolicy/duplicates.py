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
  pairs worth comparing are found with seeded MinHash signatures (``datasketch``) and locality-sensitive
  hashing over bands of them (``pairs_sharing_a_band``: each band's hashes sorted, one band at a time), so
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
import os
import re
import unicodedata
from array import array
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
from datasketch import MinHash

from .ingest import MANIFEST_COLUMNS
from .io import SpooledColumns, distinct_sorted, is_missing

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
    return " ".join(_normalised_words(text))


def _normalised_words(text) -> list[str]:
    """The words of ``normalise_for_duplicates(text)`` (which joins them with single spaces)."""
    if text is None or (isinstance(text, float) and text != text):
        return []
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    if not text.isascii():
        for char in set(text):
            if ord(char) > 127:
                replacement = _replacement(char)
                if replacement is not None:
                    text = text.replace(char, replacement)
    # UTF-8 encodes non-ASCII characters without ASCII bytes, so the byte table touches ASCII only.
    text = text.encode("utf-8").translate(_ASCII_TABLE, _ASCII_DROPPED).decode("utf-8")
    return text.split()


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
    return (_mix64(combined) >> np.uint64(32)).astype(np.uint32)


def _mix64(values: np.ndarray) -> np.ndarray:
    """A 64-bit avalanche (MurmurHash3-style finaliser step), in place, so that sums of position-weighted
    hashes spread over all bits."""
    with np.errstate(over="ignore"):
        values ^= values >> np.uint64(33)
        values *= np.uint64(0xFF51AFD7ED558CCD)
        values ^= values >> np.uint64(33)
    return values


def _identity(value):
    """MinHash ``hashfunc``: the shingles are already 32-bit hashes."""
    return value


@lru_cache(maxsize=32)
def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) for the band index: the most rows per band (fewest chance candidates) such that a pair
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
    return ["" if is_missing(value) else str(value).strip() for value in articles[name].tolist()]


def _find(parent: list[int], node: int) -> int:
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


def _read_into(file, buffer: memoryview, offset: int) -> None:
    """Fill ``buffer`` with ``file``'s bytes from ``offset``: one ``preadv`` where the system has it,
    else a seek and reads (the file's own position is left alone by the first, moved by the second)."""
    if hasattr(os, "preadv"):
        done = os.preadv(file.fileno(), [buffer], offset)
    else:
        file.seek(offset)
        done = file.readinto(buffer)
    if done != len(buffer):
        raise OSError(f"short read: {done} of {len(buffer)} bytes at {offset}")


class _Member(NamedTuple):
    """What the duplicate table needs of an article in a group. A tuple rather than a dict per member: for
    the ~17k members of a 100k corpus's groups, ~3 MiB less in all."""
    id: str
    date: str
    outlet: str
    length: int  # characters
    unit: int    # its exact copies' unit
    row: int     # the unit's signature row (-1: too short to shingle)


class _SpilledRows:
    """Arrays of uint32, one per row, spilled to a temporary file: the shingle hashes of each text (as
    ``fingerprints`` gives them: one per word position) and the MinHash signatures (``width`` values each).

    Exact Jaccard checks need the shingle sets of articles seen long before, and the estimates of candidate
    pairs their signatures (in a streamed run their texts are gone); on disk they cost memory only for
    their offsets (16 bytes a row; none for rows of a fixed ``width``), and a small cache keeps the
    recent ones at hand: a group's representative, compared with each of its members. (A bigger cache
    hardly helps: the pairs checked come band by band, in no order. On a 100k corpus's ~20k reads, 2,048
    rows hit 5.1% against 4.1% for 32, and held ~7 MiB of shingles to the end of the run.)
    """

    def __init__(self, cache: int = 32, width: int | None = None):
        import tempfile

        self._file = tempfile.TemporaryFile()
        self.width = width
        # Per row of varying width, where its values are in the file: byte offset and count (8 bytes each).
        self._offsets, self._counts = array("q"), array("q")
        self._rows = 0
        self._end = 0
        self._pending: list[bytes] = []  # rows not yet written (written together: a seek and write per row
        self._written = 0                # cost a tenth of the main process's time in a streamed run)
        self.read = lru_cache(maxsize=cache)(self._read)

    def __len__(self) -> int:
        return self._rows

    def append(self, values: np.ndarray) -> None:
        data = np.ascontiguousarray(values, dtype=np.uint32).tobytes()
        if self.width is None:
            self._offsets.append(self._end)
            self._counts.append(len(values))
        elif len(values) != self.width:
            raise ValueError(f"a row of {len(values)} values in a store of width {self.width}")
        self._pending.append(data)
        self._rows += 1
        self._end += len(data)
        if len(self._pending) >= 256:
            self._flush()

    def _flush(self) -> None:
        self._file.seek(self._written)
        self._file.write(b"".join(self._pending))
        self._file.flush()
        self._pending, self._written = [], self._end

    def _read(self, row: int) -> np.ndarray:
        if self.width is None:
            offset, count = self._offsets[row], self._counts[row]
        else:
            offset, count = 4 * self.width * row, self.width
        if offset >= self._written:
            self._flush()
        self._file.seek(offset)
        return np.frombuffer(self._file.read(4 * count), dtype=np.uint32)

    def stack(self, rows: np.ndarray) -> np.ndarray:
        """The rows of a store of fixed ``width`` (signatures) as a matrix, in the order asked.

        Each distinct row is read once, straight into the matrix, one read per run of consecutive rows.
        (Mapping the file and gathering was faster, by ~0.7 s per million candidate pairs, but the kernel
        maps in the neighbours of every page touched: for the rows of random pairs, about the whole file,
        512 bytes an article, in the process's memory while the map was open.)"""
        if self.width is None:
            raise ValueError("stack needs rows of one width (give the store a width)")
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return np.empty((0, self.width), dtype=np.uint32)
        if self._pending:
            self._flush()
        distinct = distinct_sorted(rows)
        if distinct[0] < 0 or 4 * self.width * (int(distinct[-1]) + 1) > self._written:
            raise IndexError(f"rows outside the store's {len(self)}")
        gathered = np.empty((len(distinct), self.width), dtype=np.uint32)
        into, size = memoryview(gathered).cast("B"), 4 * self.width
        breaks = (np.flatnonzero(np.diff(distinct) != 1) + 1).tolist()
        for start, end in zip([0] + breaks, breaks + [len(distinct)]):
            _read_into(self._file, into[start * size:end * size], int(distinct[start]) * size)
        return gathered[np.searchsorted(distinct, rows)]

    def close(self) -> None:
        self.read.cache_clear()
        self._file.close()


PAIR_CHUNK = 2048  # candidate pairs whose estimates are computed at once (their signatures: 2 MiB)


@lru_cache(maxsize=8)
def _minhash_template(num_perm: int, seed: int) -> MinHash:
    return MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity)


def minhash_signature(hashes: np.ndarray, template: MinHash) -> np.ndarray:
    """The MinHash signature (uint32, one value per permutation) of 32-bit shingle hashes: what
    ``template.copy().update_batch(hashes)`` gives for datasketch's default "affine32" scheme (MurmurHash3
    finaliser, then ``a * h + b`` modulo 2**32 per permutation, minimum over the shingles; tested equal),
    computed in one numpy step instead of datasketch's call per shingle."""
    if template.scheme != "affine32":
        minhash = template.copy()
        minhash.update_batch(hashes.tolist())
        return minhash.hashvalues.astype(np.uint32)
    values = hashes.astype(np.uint32).reshape(-1, 1)
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    values = values ^ (values >> np.uint32(16))
    a, b = template.permutations
    permuted = values * a.astype(np.uint32) + b.astype(np.uint32)
    return np.minimum(template.hashvalues.astype(np.uint32), permuted.min(axis=0))


def fingerprints(articles: pd.DataFrame, num_perm: int = 128, shingle_size: int = 5, seed: int = 1) -> dict[str, list]:
    """What the duplicate index keeps of each article, computed from its text (in id order).

    In: articles (``article``, ``text``; ``date``, ``outlet`` if present). Out: a dict of equal-length
    lists: article, date, outlet, length (characters), key (16-byte hash of the normalised text, b"" when
    it is empty), signature (MinHash values, uint32 array, or None with fewer than ``shingle_size``
    words), shingles (the shingle hashes, one per word position, repeats kept; or None). Pure and
    picklable, so a streamed run computes it in its worker processes and only the index lives in the main one.
    """
    found: dict[str, list] = {name: [] for name in ("article", "date", "outlet", "length", "key", "signature",
                                                     "shingles")}
    if articles is None or len(articles) == 0:
        return found
    if "article" not in articles.columns or "text" not in articles.columns:
        raise ValueError("find_duplicates needs the columns 'article' and 'text'")
    ids = _column(articles, "article")
    dates, outlets = _column(articles, "date"), _column(articles, "outlet")
    text_values = articles["text"].array
    template = _minhash_template(num_perm, seed)
    for i in sorted(range(len(ids)), key=ids.__getitem__):  # id order within a piece
        value = text_values[i]
        text = "" if is_missing(value) else str(value)
        words = _normalised_words(text)
        normalised = " ".join(words)  # normalise_for_duplicates(text)
        key = hashlib.blake2b(normalised.encode("utf-8"), digest_size=16).digest() if normalised else b""
        signature = shingles = None
        if len(words) >= shingle_size:
            shingles = _shingle_hashes(words, shingle_size)
            signature = minhash_signature(shingles, template)
        for name, item in (("article", ids[i]), ("date", dates[i]), ("outlet", outlets[i]), ("length", len(text)),
                           ("key", key), ("signature", signature), ("shingles", shingles)):
            found[name].append(item)
    return found


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """The LSH band hashes of MinHash ``signatures`` (one per row): each band of ``rows`` consecutive values
    hashed to 64 bits. Out: uint64 array (bands, len(signatures))."""
    count = len(signatures)
    values = signatures[:, :bands * rows].reshape(count, bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        combined = (values * _position_multipliers(rows)).sum(axis=2, dtype=np.uint64)
    return _mix64(combined).T.copy()


def pairs_sharing_a_band(hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The candidate pairs of one LSH band: every pair of ``rows`` whose ``hashes`` (one per row) are equal,
    as (larger row, smaller row), each once, sorted. Found by sorting, so the cost grows with the rows
    and the pairs, not with all pairs of rows."""
    return _pairs_of(_band_pair_keys(hashes, rows))


def _band_pair_keys(hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``pairs_sharing_a_band`` as ``_pair_keys`` (what the index merges across bands)."""
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(hashes, kind="stable")
    sorted_hashes, sorted_rows = hashes[order], rows[order]
    starts = np.flatnonzero(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]]) if len(rows) else rows
    lengths = np.diff(np.r_[starts, len(rows)])
    # Runs of two (nearly all of them) at once; longer runs of equal hashes: every pair inside each.
    twos = starts[lengths == 2]
    pairs = [np.stack([sorted_rows[twos], sorted_rows[twos + 1]], axis=1)]
    for start, length in zip(starts[lengths > 2].tolist(), lengths[lengths > 2].tolist()):
        members = sorted_rows[start:start + length]
        first, second = np.triu_indices(length, k=1)
        pairs.append(np.stack([members[first], members[second]], axis=1))
    return _pair_keys(np.concatenate(pairs))


def _pair_keys(pairs: np.ndarray) -> np.ndarray:
    """Each pair of rows (below 2**31) as one sorted int64, larger row in the high half: sorting and
    merging keys is several times faster than sorting rows of two columns."""
    return distinct_sorted((pairs.max(axis=1) << 32) | pairs.min(axis=1)) if len(pairs) else np.empty(0, dtype=np.int64)


def _pairs_of(keys: np.ndarray) -> np.ndarray:
    """``_pair_keys`` back to (larger row, smaller row) pairs, in the keys' order."""
    return np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1)


class DuplicateIndex:
    """Duplicate detection fed in pieces: ``add(articles)`` any number of times, then ``duplicates()``.

    While it is fed it only writes down, on disk, what it will need: per article its id, date, outlet,
    text length and exact-copy key; per text long enough to shingle, its MinHash signature, the
    signature's LSH band hashes and its shingles. In memory it keeps per spilled row its offset (16 bytes
    an article): never the texts or the ids, and no index that grows with the corpus. The groups are
    worked out once, when first asked for (``groups``): exact copies by sorting the keys, near copies by
    sorting each band's hashes in turn (one band in memory at a time, 8 bytes an article) and checking the
    pairs that share a band, as ``find_duplicates`` describes. Adding more afterwards works them out anew.
    ``ids_at`` reads ids back by position (the order added), ``positions`` gives those of the groups' members.

    The groups do not depend on the order or the pieces the articles come in: copies are connected
    components of symmetric pair decisions, and the representative rule depends on the members only.
    ``find_duplicates`` is one ``add`` of the whole table followed by ``duplicates()``.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, num_perm: int = 128, shingle_size: int = 5,
                 seed: int = 1):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if num_perm < 2:
            raise ValueError(f"num_perm must be at least 2, got {num_perm}")
        if shingle_size < 1:
            raise ValueError(f"shingle_size must be at least 1, got {shingle_size}")
        self.threshold, self.num_perm, self.shingle_size = threshold, num_perm, shingle_size
        self.seed = seed
        self.bands, self.band_rows = _lsh_params(float(threshold), int(num_perm))
        # Estimates this far from the threshold decide on their own (4 standard errors of the estimate at
        # the threshold: a wrong call is about a 1-in-30,000 event); closer ones are settled on the exact sets.
        self._margin = max(4.0 * (threshold * (1.0 - threshold) / num_perm) ** 0.5, 1.0 / num_perm)
        self._count = 0
        self._largest_id: str | None = None
        self._id_set: set[str] | None = None  # only once ids stop coming in increasing order
        self._columns = SpooledColumns()
        self._signatures = _SpilledRows(width=num_perm)  # per text with shingles (on disk: 4 * num_perm bytes a row)
        self._shingles = _SpilledRows()
        self._found: tuple | None = None  # (groups, what groups' members need), once worked out

    def __len__(self) -> int:
        return self._count

    def exact_jaccard(self, row_a: int, row_b: int) -> float:
        # Stored as computed (one hash per position); made distinct only here, for the few close pairs.
        a, b = np.unique(self._shingles.read(row_a)), np.unique(self._shingles.read(row_b))
        common = np.intersect1d(a, b, assume_unique=True).size
        return common / (a.size + b.size - common)

    def add(self, articles: pd.DataFrame) -> None:
        """Index a piece of the articles table (``article``, ``text``; ``date``, ``outlet`` if present).

        Ids must be unique across every piece. Texts are read one at a time and not kept.
        """
        self.add_fingerprints(fingerprints(articles, num_perm=self.num_perm, shingle_size=self.shingle_size,
                                           seed=self.seed))

    def _check_new_ids(self, ids: list[str]) -> None:
        """Refuse ids seen before (in this piece or an earlier one). While pieces come in increasing id
        order (a streamed run's do) no set of every id is needed: a piece past the largest id so far
        cannot repeat one."""
        series = pd.Series(ids)
        repeated = set(series[series.duplicated()])
        if self._id_set is None and self._count and min(ids) <= self._largest_id:
            self._id_set = set(self.ids_at(range(self._count)).values())
        if self._id_set is not None:
            repeated |= {article for article in ids if article in self._id_set}
        if repeated:
            raise ValueError(f"article ids must be unique (the result is keyed by id); repeated: {sorted(repeated)[:5]}")
        if self._id_set is not None:
            self._id_set.update(ids)
        self._largest_id = max(ids) if self._largest_id is None else max(self._largest_id, max(ids))

    def add_fingerprints(self, found: dict[str, list]) -> None:
        """Index what ``fingerprints`` computed (possibly in another process) for a piece of the articles."""
        ids = found["article"]
        if not ids:
            return
        self._check_new_ids(ids)
        self._found = None
        rows, signatures = [], []
        for key, signature, shingles in zip(found["key"], found["signature"], found["shingles"]):
            if key and signature is not None:
                rows.append(len(self._signatures))
                self._signatures.append(signature)
                self._shingles.append(shingles)
                signatures.append(signature)
            else:
                rows.append(-1)  # an empty text is nobody's copy; a text too short to shingle only copies exactly
        keys = np.frombuffer(b"".join(key or bytes(16) for key in found["key"]), dtype=np.uint64).reshape(-1, 2)
        self._columns.append(key_a=keys[:, 0], key_b=keys[:, 1],
                             has_key=np.array([bool(key) for key in found["key"]], dtype=bool),
                             length=np.asarray(found["length"], dtype=np.int64), row=np.asarray(rows, dtype=np.int64))
        if signatures:
            hashes = band_hashes(np.stack(signatures).astype(np.uint32), self.bands, self.band_rows)
            self._columns.append(**{f"band{band}": hashes[band] for band in range(self.bands)})
        self._columns.append_object("meta", (list(ids), found["date"], found["outlet"]))
        self._count += len(ids)

    @property
    def in_id_order(self) -> bool:
        """Whether the articles were added in increasing id order (each piece's ids all after the last's)."""
        return self._id_set is None

    def _read_meta(self, positions) -> dict[int, tuple[str, str, str]]:
        """{position: (id, date, outlet)} of the articles at ``positions`` (read from disk, for them only)."""
        wanted = sorted(set(positions))
        found, start, at = {}, 0, 0
        for ids, dates, outlets in self._columns.objects("meta"):
            while at < len(wanted) and wanted[at] < start + len(ids):
                i = wanted[at]
                found[i] = (ids[i - start], dates[i - start], outlets[i - start])
                at += 1
            start += len(ids)
            if at == len(wanted):
                break
        return found

    def ids_at(self, positions) -> dict[int, str]:
        """{position: article id} of the articles at ``positions`` (in the order added, from 0)."""
        return {i: meta[0] for i, meta in self._read_meta(positions).items()}

    def positions(self) -> dict[str, int]:
        """{article id: position} of every article in a group (representatives and copies)."""
        return {info.id: i for i, info in self._work_out()[1].items()}

    def _units(self) -> tuple[np.ndarray, np.ndarray]:
        """(per article its unit, per unit its signature row): a unit is a distinct non-empty text (its
        exact copies), numbered in the order of its first article; -1 for an empty text (unit) and a text
        too short to shingle (row)."""
        has_key = self._columns.column("has_key", dtype=bool)
        keyed = np.flatnonzero(has_key)
        key_a, key_b = self._columns.column("key_a")[keyed], self._columns.column("key_b")[keyed]
        order = np.lexsort((keyed, key_b, key_a))  # by text, then by article
        key_a, key_b, keyed = key_a[order], key_b[order], keyed[order]
        new = np.r_[True, (key_a[1:] != key_a[:-1]) | (key_b[1:] != key_b[:-1])] if len(keyed) else has_key[:0]
        text_of = np.cumsum(new) - 1
        first = keyed[new]  # each distinct text's first article
        number = np.empty(len(first), dtype=np.int64)
        number[np.argsort(first, kind="stable")] = np.arange(len(first))
        unit_of = np.full(len(has_key), -1, dtype=np.int64)
        unit_of[keyed] = number[text_of]
        return unit_of, self._columns.column("row")[np.sort(first)]

    def _link(self, unit_row: np.ndarray) -> array:
        """Union-find over signature rows, the units' rows joined where they copy each other.

        Candidates are the pairs that share a band (``pairs_sharing_a_band``), decided one band at a time
        (in memory: one band's pairs, not every band's); a candidate is confirmed on its MinHash estimate
        when that is clearly above the threshold, and on the exact shingle sets when close. The groups are
        the connected components of the confirmed pairs, and each pair's decision depends on the pair
        alone: the order in which pairs come, and a pair that shares several bands coming more than once
        (about one in ten, on the benchmark corpus), change nothing but the work."""
        parent = array("q", range(len(self._signatures)))
        rows = unit_row[unit_row >= 0]
        for band in range(self.bands if len(rows) > 1 else 0):
            hashes = self._columns.column(f"band{band}", dtype=np.uint64)[rows]
            keys = _band_pair_keys(hashes, rows)
            for start in range(0, len(keys), PAIR_CHUNK):  # bounded memory for the estimates
                self._join_copies(parent, _pairs_of(keys[start:start + PAIR_CHUNK]))
        return parent

    def _join_copies(self, parent: array, pairs: np.ndarray) -> None:
        """Join in ``parent`` (union-find, the smaller row the root) the candidate ``pairs`` of rows that
        are copies; pairs already in one group are not looked at again."""
        threshold, margin = self.threshold, self._margin
        both = self._signatures.stack(pairs.reshape(-1)).reshape(len(pairs), 2, self.num_perm)
        estimates = np.count_nonzero(both[:, 0] == both[:, 1], axis=1) / self.num_perm
        keep = estimates >= threshold - margin
        for (row, other), estimate in zip(pairs[keep].tolist(), estimates[keep].tolist()):
            root, other_root = _find(parent, row), _find(parent, other)
            if other_root == root:
                continue  # already in the group: this pair changes nothing
            if estimate >= threshold + margin or self.exact_jaccard(row, other) >= threshold:
                parent[max(root, other_root)] = min(root, other_root)

    def _work_out(self) -> tuple:
        if self._found is not None:
            return self._found
        unit_of, unit_row = self._units()
        parent = self._link(unit_row)
        # A unit's label: the root of its row; a unit without a row is a group of its own.
        label = len(parent) + np.arange(len(unit_row), dtype=np.int64)
        with_row = np.flatnonzero(unit_row >= 0)
        label[with_row] = [_find(parent, row) for row in unit_row[with_row].tolist()]
        members = np.flatnonzero(unit_of >= 0)
        member_units = unit_of[members]
        member_labels = label[member_units]
        first_unit = np.full(len(parent) + len(unit_row), len(unit_row), dtype=np.int64)
        np.minimum.at(first_unit, member_labels, member_units)
        order = np.lexsort((members, member_units, first_unit[member_labels]))
        members, member_labels = members[order], member_labels[order]
        cuts = np.flatnonzero(member_labels[1:] != member_labels[:-1]) + 1
        starts, ends = np.r_[0, cuts], np.r_[cuts, len(members)]
        groups = [members[start:end].tolist() for start, end
                  in zip(starts[ends - starts >= 2].tolist(), ends[ends - starts >= 2].tolist())]
        # What the representative rule and the tables need of the groups' members (read from disk for them only).
        lengths = self._columns.column("length")
        info = {i: _Member(article, date, outlet, int(lengths[i]), int(unit_of[i]), int(unit_row[unit_of[i]]))
                for i, (article, date, outlet) in self._read_meta(m for group in groups for m in group).items()}
        ranked = []
        for group in groups:
            representative = min(group, key=lambda i: (info[i].date == "", info[i].date, -info[i].length,
                                                       info[i].id))
            ranked.append([representative] + [member for member in group if member != representative])
        self._found = (ranked, info)
        return self._found

    def groups(self) -> list[list[int]]:
        """Groups of two or more copies (article positions in the order added), representative first.

        An article's group is its unit's (its exact copies'), joined through the unit's signature row to
        the rows it was linked with. Groups come in the order of their first unit, members in unit order,
        then in the order added. The representative rule: earliest non-empty date, then longest text,
        then smallest id."""
        return self._work_out()[0]

    def duplicates(self) -> pd.DataFrame:
        """The ``find_duplicates`` table (``DUPLICATE_COLUMNS``, sorted by ``article``) of everything added."""
        groups, info = self._work_out()
        records = []
        for representative, *copies in groups:
            rep = info[representative]
            for member in copies:
                if info[member].unit == rep.unit:
                    kind, similarity = "exact", 1.0
                else:
                    kind, similarity = "near", round(self.exact_jaccard(info[member].row, rep.row), 4)
                records.append((info[member].id, rep.id, kind, similarity))
        if not records:
            return _empty_duplicates()
        result = pd.DataFrame(records, columns=DUPLICATE_COLUMNS)
        result["similarity"] = result["similarity"].astype(float)
        return result.sort_values(["article", "duplicate_of"], kind="stable").reset_index(drop=True)

    def copy_outlets(self) -> dict[str, tuple[int, str]]:
        """{representative id: (n_copies, copy_outlets)} as ``mark_duplicates`` fills them."""
        groups, info = self._work_out()
        result = {}
        for representative, *copies in groups:
            outlets = sorted({info[member].outlet for member in copies} - {""})
            result[info[representative].id] = (len(copies), "; ".join(outlets))
        return result

    def close(self) -> None:
        """Free the spilled rows and columns (the groups can no longer be worked out or scored afterwards)."""
        self._shingles.close()
        self._signatures.close()
        self._columns.close()


def _empty_duplicates() -> pd.DataFrame:
    return pd.DataFrame({"article": pd.Series(dtype=str), "duplicate_of": pd.Series(dtype=str),
                         "kind": pd.Series(dtype=str), "similarity": pd.Series(dtype=float)},
                        columns=DUPLICATE_COLUMNS)


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
    seeded); the band index (LSH) proposes candidate pairs (bands chosen so that a pair right at the threshold is
    proposed 99% of the time); a candidate is confirmed when its estimated similarity is clearly (by 4
    standard errors, 0.14 with 128 permutations) above the threshold, rejected when clearly below, and
    otherwise decided on the exact Jaccard of the two shingle sets. There is no all-pairs comparison:
    each article is compared only with its LSH candidates. Exact copies are collapsed first, so a story
    copied a thousand times verbatim takes part in the band index once.
    """
    index = DuplicateIndex(threshold=threshold, num_perm=num_perm, shingle_size=shingle_size, seed=seed)
    if articles is None or len(articles) == 0:
        return _empty_duplicates()
    try:
        index.add(articles)
        return index.duplicates()
    finally:
        index.close()


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
