"""Ingest: read a folder of raw articles (txt, Markdown, HTML, CSV/JSON exports) into clean articles.

``load_corpus(path)`` returns one row per article; ``scan_corpus(path)`` yields one record per input file
and per record inside an export, bad ones included, which is what ``manifest.csv`` is made of. A bad file
never stops the others, and nothing is dropped without a manifest row saying why.

Article columns (``ARTICLE_COLUMNS``):
    article      stable id: the path relative to the corpus folder; ``file.csv#<id>`` for an export record
    source_file  the file it came from, relative to the corpus folder
    title        headline (metadata, front matter, export column, or the page's headline line)
    date         ISO date (YYYY-MM-DD) of the article, "" when unknown
    date_source  where the date came from: export column, front matter, HTML metadata, dateline,
                 published line; or why there is none (a page banner date is never taken as the article's)
    page_date    a page banner date seen on the page (often the scrape date), kept apart from ``date``
    outlet       the publisher (export column, metadata, dateline, or the corpus folder's provenance)
    url, author  when known
    text         the clean body text (sentence offsets in later steps point into it)
    n_chars      len(text)
    encoding     the encoding the bytes were decoded from
    fixes        "; "-joined list of what cleaning changed

Manifest columns (``MANIFEST_COLUMNS``): ``source_file``, ``article``, ``status`` (ok / skipped / error,
and ``duplicate`` once duplicates are marked), ``reason`` (plain words), ``format``, ``encoding``,
``language``, ``n_chars``, ``duplicate_of``.
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import pandas as pd

from .resources import load_table
from .text import CleanPage, UndecodableError, clean_page, decode_bytes, parse_date

ARTICLE_COLUMNS = ["article", "source_file", "title", "date", "date_source", "page_date", "outlet", "url",
                   "author", "text", "n_chars", "encoding", "fixes"]
MANIFEST_COLUMNS = ["source_file", "article", "status", "reason", "format", "encoding", "language", "n_chars",
                    "duplicate_of"]

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
EXPORT_SUFFIXES = {".csv", ".tsv", ".jsonl", ".ndjson", ".json"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | EXPORT_SUFFIXES
METADATA_FILES = {"provenance.csv", "readme.md", "readme.txt", "readme", "license", "license.txt"}
MIN_ENGLISH_RATIO = 0.12  # share of English function words below which a long text is not English


class CorpusError(Exception):
    """A corpus that cannot be read at all (missing folder, not a folder)."""


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


def load_corpus(path: str | Path, columns: dict[str, str] | None = None, progress: bool = False) -> pd.DataFrame:
    """Read every article under ``path`` (a folder, or one file): one row per article (``ARTICLE_COLUMNS``).

    ``columns`` maps fields to column names of exports where the guess is wrong, e.g.
    ``{"text": "body_html", "id": "uid"}`` (fields: text, id, title, date, outlet, url, author).
    Skipped and failed inputs are not in the result; see ``scan_corpus``/``manifest`` for them.
    """
    articles, _ = read_corpus(path, columns=columns, progress=progress)
    return articles


def read_corpus(path: str | Path, columns: dict[str, str] | None = None,
                progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(articles, manifest)`` for the corpus at ``path``; both sorted by id."""
    records = list(scan_corpus(path, columns=columns, progress=progress))
    return records_to_frames(records)


def records_to_frames(records: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``scan_corpus`` records into the articles table (status ok) and the manifest."""
    manifest = pd.DataFrame([{column: record.get(column, "") for column in MANIFEST_COLUMNS} for record in records],
                            columns=MANIFEST_COLUMNS)
    manifest["n_chars"] = pd.to_numeric(manifest["n_chars"], errors="coerce").fillna(0).astype(int)
    manifest = manifest.sort_values(["source_file", "article"], kind="stable").reset_index(drop=True)
    ok = [record for record in records if record["status"] == "ok"]
    articles = pd.DataFrame([{column: record.get(column, "") for column in ARTICLE_COLUMNS} for record in ok],
                            columns=ARTICLE_COLUMNS)
    articles["n_chars"] = articles["n_chars"].astype(int)
    articles = articles.sort_values("article", kind="stable").reset_index(drop=True)
    return articles, manifest


def corpus_files(root: Path) -> list[Path]:
    """Every entry under ``root`` (files and links, not following links), sorted; the corpus's inputs."""
    if root.is_file():
        return [root]
    return [root / name for name in corpus_names(root)]


def corpus_names(root: Path) -> Iterator[str]:
    """The paths of ``corpus_files(root)`` relative to ``root`` (posix), in the same order, yielded one by
    one while walking the folders: only one folder's listing at a time is held, not the corpus's.

    Sorted as whole relative paths are: in each folder the entries are taken in the order of their names,
    a sub-folder's name counted with its trailing "/" (every path under it starts so), and a folder is
    walked where it sorts. Links (to files or folders) and other non-folders are entries; folders reached
    through a link are not walked."""
    if root.is_file():
        yield root.name
        return

    def walk(folder: Path, prefix: str):
        try:
            with os.scandir(folder) as listing:
                entries = [(entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name, entry.name)
                           for entry in listing]
        except OSError:
            return  # an unreadable folder, as os.walk skips it
        for key, name in sorted(entries):
            if key.endswith("/"):
                yield from walk(folder / name, prefix + key)
            else:
                yield prefix + name

    yield from walk(root, "")


def scan_corpus(path: str | Path, columns: dict[str, str] | None = None, progress: bool = False) -> Iterator[dict]:
    """Yield one record per input file and per export record, each with ``status`` and ``reason``.

    Raises ``CorpusError`` when ``path`` does not exist. Everything else becomes a record.
    """
    root, base, files = corpus_layout(path)
    iterator = files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(files, desc="ingest", unit="file", disable=len(files) < 50)
    provenance = read_provenance(base)
    for file in iterator:
        yield from read_files([file.relative_to(base).as_posix()], base, columns=columns, provenance=provenance)


def corpus_layout(path: str | Path) -> tuple[Path, Path, list[Path]]:
    """``(root, base, files)``: the corpus path, the folder ids are relative to, and its files in order.

    Raises ``CorpusError`` when ``path`` does not exist."""
    root, base = corpus_base(path)
    return root, base, corpus_files(root)


def corpus_base(path: str | Path) -> tuple[Path, Path]:
    """``(root, base)``: the corpus path and the folder ids are relative to (its own, or a file's folder).

    Raises ``CorpusError`` when ``path`` does not exist."""
    root = Path(path)
    if not root.exists():
        raise CorpusError(f"corpus folder not found: {root}")
    return root, (root.parent if root.is_file() else root)


def read_files(names: list[str], base: Path | str, columns: dict[str, str] | None = None,
               provenance: dict[str, dict] | None = None) -> list[dict]:
    """The records of some of a corpus's files, given by their paths relative to ``base`` (the corpus
    folder), with ``PROVENANCE.csv`` rows (``read_provenance``) applied. What an engine's worker runs."""
    base = Path(base)
    provenance = provenance or {}
    records = []
    for name in names:
        for record in read_file(base / name, base, columns=columns):
            known = provenance.get(record["source_file"])
            if known and record["status"] == "ok":
                _apply_provenance(record, known)
            records.append(record)
    return records


def read_provenance(root: Path) -> dict[str, dict]:
    """``PROVENANCE.csv`` at the corpus root (file, outlet, date, url, ...) as {file: row}, if present."""
    path = root / "PROVENANCE.csv"
    if not path.is_file():
        return {}
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError):
        return {}
    if "file" not in table.columns:
        return {}
    return {row["file"]: row for row in table.to_dict(orient="records")}


def _apply_provenance(record: dict, known: dict) -> None:
    """Fill outlet, url and date from the provenance file where the article itself gave none."""
    if not record.get("outlet") and known.get("outlet"):
        record["outlet"] = known["outlet"]
    if not record.get("url") and known.get("url"):
        record["url"] = known["url"]
    if not record.get("date") and parse_date(known.get("date", "")):
        record["date"], record["date_source"] = parse_date(known["date"]), "provenance file"


def read_file(file: Path, root: Path, columns: dict[str, str] | None = None) -> list[dict]:
    """Records for one file (several for an export). Never raises for bad content."""
    relative = file.relative_to(root).as_posix()
    suffix = file.suffix.lower()

    def status(state: str, reason: str, **extra) -> list[dict]:
        return [dict(source_file=relative, article=relative, status=state, reason=reason, format=suffix.lstrip("."),
                     encoding="", language="", n_chars=0, duplicate_of="", **extra)]

    if file.is_symlink():
        target = file.resolve()
        inside = target.is_relative_to(root.resolve())
        if not inside:
            return status("skipped", "symbolic link leading outside the corpus")
        return status("skipped", "symbolic link inside the corpus (its target is read on its own)")
    if file.is_dir():
        return status("skipped", "directory")
    if file.name.lower() in METADATA_FILES and file.parent == root:
        return status("skipped", "corpus metadata (provenance or readme), not an article")
    if suffix not in SUPPORTED_SUFFIXES:
        return status("skipped", f"unsupported format {suffix or '(no extension)'}")
    try:
        data = file.read_bytes()
    except OSError as error:
        return status("error", f"cannot read file: {error.strerror or error}")
    if not data.strip():
        return status("skipped", "empty file")
    try:
        text, encoding = decode_bytes(data)
    except UndecodableError as error:
        return status("error", str(error))
    if not text.strip():
        return status("skipped", "empty file")

    if suffix in EXPORT_SUFFIXES:
        try:
            rows = list(_export_rows(text, suffix, relative))
        except ValueError as error:
            return [dict(status("error", str(error))[0], encoding=encoding)]
        records = [_record_from_row(row, relative, suffix, encoding, columns) for row in rows]
        _make_ids_unique(records)
        return records or [dict(status("skipped", "export with no records")[0], encoding=encoding)]
    if suffix in HTML_SUFFIXES:
        page, extra = _from_html(text)
    elif suffix in MARKDOWN_SUFFIXES:
        page, extra = _from_markdown(text)
    else:
        page, extra = clean_page(text), {}
    return [_finish(dict(source_file=relative, article=relative, format=suffix.lstrip("."), encoding=encoding,
                         url=extra.get("url", ""), author=extra.get("author", "")), page)]


# ----------------------------------------------------------------------------------------------
# Formats
# ----------------------------------------------------------------------------------------------


def _from_html(markup: str) -> tuple[CleanPage, dict]:
    """Main text and metadata with trafilatura; a tag-stripping fallback when it finds nothing."""
    import trafilatura

    meta: dict = {}
    extracted = None
    try:
        result = trafilatura.extract(markup, output_format="json", with_metadata=True, include_comments=False,
                                     include_tables=False, favor_precision=True, deduplicate=False)
        if result:
            extracted = json.loads(result)
    except Exception:  # trafilatura raises a variety of parser errors on broken pages
        extracted = None
    if extracted and (extracted.get("text") or "").strip():
        body = extracted["text"]
        meta = {key: extracted.get(key) or "" for key in ("title", "date", "sitename", "url", "author")}
        fixes = ["main text extracted with trafilatura"]
    else:
        body = _strip_tags(markup)
        title = re.search(r"<title[^>]*>(.*?)</title>", markup, re.IGNORECASE | re.DOTALL)
        meta = {"title": html_lib.unescape(title.group(1)).strip() if title else ""}
        fixes = ["tags stripped (trafilatura found no main text)"]
    page = clean_page(body, title=meta.get("title", ""), date=parse_date(meta.get("date", "")),
                      date_source="HTML metadata" if meta.get("date") else "", outlet=meta.get("sitename", ""))
    page.fixes[:0] = fixes
    return page, meta


_DROP_BLOCKS = re.compile(r"<(script|style|nav|header|footer|aside|noscript|form)\b.*?</\1\s*>",
                          re.IGNORECASE | re.DOTALL)
_BLOCK_TAGS = re.compile(r"</?(?:p|div|br|h[1-6]|li|tr|article|section|blockquote)\b[^>]*>", re.IGNORECASE)


def _strip_tags(markup: str) -> str:
    markup = _DROP_BLOCKS.sub(" ", markup)
    markup = _BLOCK_TAGS.sub("\n", markup)
    markup = re.sub(r"<[^>]+>", " ", markup)
    return html_lib.unescape(markup)


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*(?:\n|\Z)", re.DOTALL)
_MD_RULES = [
    (re.compile(r"```.*?```", re.DOTALL), " "),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),                 # images
    (re.compile(r"!\[[^\]]*\]\[[^\]]*\]"), ""),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),              # inline links keep their words
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),             # reference links
    (re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.MULTILINE), ""),  # link definitions
    (re.compile(r"<[^>]+>"), ""),                               # inline HTML
    (re.compile(r"^\s{0,3}>\s?", re.MULTILINE), ""),            # block quotes
    (re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+", re.MULTILINE), ""),  # list markers
    (re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$", re.MULTILINE), ""),  # horizontal rules
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),                   # bold
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # italics
    (re.compile(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
]


def _from_markdown(source: str) -> tuple[CleanPage, dict]:
    """Markdown with optional YAML front matter (title, date, author, url, outlet/source)."""
    import yaml

    meta: dict = {}
    match = _FRONT_MATTER.match(source)
    fixes = []
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
            meta = {str(key).lower(): value for key, value in loaded.items()} if isinstance(loaded, dict) else {}
            fixes.append("front matter read")
        except yaml.YAMLError:
            fixes.append("front matter not valid YAML (ignored)")
        source = source[match.end():]
    title = str(meta.get("title") or "")
    heading = re.search(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", source, re.MULTILINE)
    if heading and not title:
        title = heading.group(1).strip()
    if heading and heading.group(1).strip() == title:
        source = source[:heading.start()] + source[heading.end():]
    source = re.sub(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", r"\1", source, flags=re.MULTILINE)
    for pattern, replacement in _MD_RULES:
        source = pattern.sub(replacement, source)
    fixes.append("Markdown markup removed")
    date = parse_date(meta.get("date") or meta.get("published") or "")
    page = clean_page(source, title=title, date=date, date_source="front matter" if date else "",
                      outlet=str(meta.get("outlet") or meta.get("source") or meta.get("publisher") or ""))
    page.fixes[:0] = fixes
    return page, {"url": str(meta.get("url") or meta.get("link") or ""), "author": _as_text(meta.get("author"))}


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(item) for item in value)
    return str(value)


@lru_cache(maxsize=1)
def export_column_names() -> dict[str, list[str]]:
    """Common column names of each field in exports, from ``data/export_columns.csv``, in priority order."""
    table = load_table("export_columns")
    names: dict[str, list[str]] = {}
    for field, column in zip(table["field"], table["column"]):
        names.setdefault(field, []).append(column.lower())
    return names


def _export_rows(text: str, suffix: str, relative: str) -> Iterator[tuple[int, dict | str]]:
    """(record number, row dict) for each record; a string in place of the dict is a per-record error."""
    if suffix in {".csv", ".tsv"}:
        delimiter = "\t" if suffix == ".tsv" else ","
        csv.field_size_limit(1 << 30)
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
            fieldnames = reader.fieldnames
            if not fieldnames:
                raise ValueError("CSV has no header row")
            for number, row in enumerate(reader, start=1):
                yield number, {key: (value if value is not None else "") for key, value in row.items() if key}
        except csv.Error as error:
            raise ValueError(f"malformed CSV: {error}") from error
        return
    stripped = text.lstrip()
    if suffix == ".json" and stripped.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            if stripped.startswith("{") and "\n{" in stripped:
                yield from _jsonl_rows(text)  # a .json file that is really JSON lines
                return
            raise ValueError(f"invalid JSON: {error.msg} at line {error.lineno}") from error
        if isinstance(data, dict):
            for key in ("articles", "data", "items", "records", "results", "documents"):
                if isinstance(data.get(key), list):
                    data = data[key]
                    break
            else:
                data = [data]
        if not isinstance(data, list):
            raise ValueError("JSON is neither a list of records nor an object")
        for number, item in enumerate(data, start=1):
            yield number, item if isinstance(item, dict) else f"record {number} is not a JSON object"
        return
    yield from _jsonl_rows(text)


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            yield number, f"invalid JSON on line {number}"
            continue
        yield number, item if isinstance(item, dict) else f"line {number} is not a JSON object"


def _pick(row: dict, field: str, columns: dict[str, str] | None) -> str:
    lowered = {str(key).lower(): key for key in row}
    if columns and field in columns:
        key = lowered.get(columns[field].lower())
        return _as_text(row.get(key)) if key is not None else ""
    for name in export_column_names().get(field, []):
        if name in lowered:
            value = _as_text(row.get(lowered[name])).strip()
            if value:
                return value
    return ""


_UNSAFE_ID = re.compile(r"[^\w.\-]+")


def _record_from_row(item: tuple[int, dict | str], relative: str, suffix: str, encoding: str,
                     columns: dict[str, str] | None) -> dict:
    number, row = item
    base = dict(source_file=relative, format=suffix.lstrip("."), encoding=encoding, duplicate_of="", language="",
                n_chars=0)
    if isinstance(row, str):
        return dict(base, article=f"{relative}#{number}", status="error", reason=row)
    raw_id = _pick(row, "id", columns)
    # The id is for tracing only; it is sanitised so that it can never be used as a path.
    record_id = _UNSAFE_ID.sub("_", raw_id).strip("._")[:120] or str(number)
    article = f"{relative}#{record_id}"
    text = _pick(row, "text", columns)
    if not text.strip():
        if columns and "text" in columns and not any(columns["text"].lower() == str(k).lower() for k in row):
            reason = f"no column named {columns['text']!r}"
        elif not any(name in {str(k).lower() for k in row} for name in export_column_names()["text"]):
            reason = f"no text column found (columns: {', '.join(map(str, row))})"
        else:
            reason = "empty text"
        return dict(base, article=article, status="skipped", reason=reason)
    if re.search(r"<(?:p|div|br|span|a|html|body)\b", text, re.IGNORECASE):
        page, _ = _from_html(text)
    else:
        page = clean_page(text)
    title = _pick(row, "title", columns)
    date_value = _pick(row, "date", columns)
    if title:
        page.title = title
    if parse_date(date_value):
        page.date, page.date_source = parse_date(date_value), "export column"
    outlet = _pick(row, "outlet", columns)
    if outlet:
        page.outlet = outlet
    record = dict(base, article=article, url=_pick(row, "url", columns), author=_pick(row, "author", columns))
    return _finish(record, page)


def _make_ids_unique(records: list[dict]) -> None:
    """An export whose id column repeats a value gets ``#id~2``, ``#id~3`` ...: ids stay unique."""
    seen: dict[str, int] = {}
    for record in records:
        count = seen.get(record["article"], 0) + 1
        seen[record["article"]] = count
        if count > 1:
            record["article"] = f"{record['article']}~{count}"


def _finish(record: dict, page: CleanPage) -> dict:
    """Add the page's fields, detect the language, and set status/reason."""
    record.update(title=page.title, date=page.date, date_source=page.date_source, page_date=page.page_date,
                  outlet=page.outlet, text=page.text, n_chars=len(page.text), fixes="; ".join(page.fixes))
    record.setdefault("duplicate_of", "")
    if not page.text.strip():
        record.update(status="skipped", reason="no text after cleaning", language="")
        return record
    language = detect_language(page.text)
    record["language"] = language
    if language != "en":
        record.update(status="skipped", reason=f"not English (language: {language})")
        return record
    record.update(status="ok", reason="")
    return record


@lru_cache(maxsize=1)
def _english_function_words() -> frozenset[str]:
    return frozenset(load_table("english_function_words")["word"])


_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str:
    """"en" for English; otherwise an ISO 639-1 code (langdetect, seeded) or "und" when unsure.

    English is recognised cheaply by its share of function words (the, of, and, said ...), so the
    slower detector runs only on texts that are not English.
    """
    words = _WORD.findall(text[:5000].lower())
    if not words:
        return "und"
    ratio = sum(1 for word in words if word in _english_function_words()) / len(words)
    if ratio >= MIN_ENGLISH_RATIO or len(words) < 8:
        return "en"
    try:
        from langdetect import DetectorFactory, detect

        DetectorFactory.seed = 0  # langdetect is random unless seeded
        return detect(text[:5000])
    except Exception:
        return "und"
