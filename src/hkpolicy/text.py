"""Text: decode bytes, repair encodings, strip page chrome, find title and dateline, split sentences.

In: raw bytes or a decoded page. Out: clean text with a record of what cleaning changed, and a
``sentences`` DataFrame whose offsets point into the clean text.

Page chrome is removed by general rules whose patterns live in ``data/boilerplate.csv``:
full-line patterns (menus, sign-in, share lines, media-player residue, copyright, adverts),
runs of headline-like lines (related-article and most-read lists), short site-name/slogan lines above the
headline, and inline residue (image captions glued into scraped text).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
from dateutil import parser as date_parser

from .io import is_missing
from .resources import compile_alternation, load_table

SENTENCE_COLUMNS = ["article", "sentence_id", "start", "end", "text"]

_WS = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
# "...the law.China said": a sentence end glued to the next sentence. Written to begin with the mark itself
# (the looks behind come after it) so that the engine skips ahead to the next ".", "?" or "!".
_GLUED_SENTENCE = re.compile(r"([?!.])(?<=[a-z\d”’\"')]{2}[?!]|[a-z]{2}\.)(?=[A-Z][a-z])")
_DATELINE = re.compile(
    r"\s*(?:date\s+)?(?P<date>\d{4}-\d{2}-\d{2})?\s*"
    r"(?:(?P<place>[A-Z][A-Za-z.'-]+(?:[ ,]+[A-Z][A-Za-z.'-]+){0,2}),?\s*)?"
    r"(?P<date2>[A-Z][a-z]{2,8}\.? \d{1,2}(?:,? \d{4})?|\d{1,2} [A-Z][a-z]{2,8}(?: \d{4})?)?\s*"
    r"\((?P<outlet>[A-Z][A-Za-z .&'-]{1,40})\)\s*(?:--|—|–|-|(?=[A-Z][a-z]))\s*"
)
_PUBLISHED = re.compile(
    r"^\s*(?:Published|Updated|Posted|First published|Date)\s*(?:on|:)?\s*(?P<date>[^|]{6,60}?)\s*(?:\||$)",
    re.IGNORECASE,
)
# Scrapes glue a caption or headline to the next sentence ("cnsphotoThe UK"): a lower-case run
# directly followed by a capitalised word gets its space back.
# "officialsSaid": two words glued; a space goes after the lower-case run (replaced by "\\g<0> ").
_GLUED_WORDS = re.compile(r"[a-z](?=[A-Z][a-z]+[ ,])(?<=[a-z]{3})")
_SENTENCE_END = tuple(".!?:;”\"’')…")


@dataclass
class CleanPage:
    """What ``clean_page`` returns: the body text, the headline, dates found, and what was changed."""

    text: str
    title: str = ""
    date: str = ""
    date_source: str = ""
    outlet: str = ""
    page_date: str = ""
    fixes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# Decoding and unicode repair
# ----------------------------------------------------------------------------------------------


class UndecodableError(ValueError):
    """Raised for content that is not text (binary) or cannot be decoded."""


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode raw bytes to text; returns ``(text, encoding)``.

    BOMs first (UTF-8, UTF-16/32), then strict UTF-8, then charset-normalizer's best guess (cp1252,
    latin-1, ...). Raises ``UndecodableError("binary content")`` for bytes that are not text.
    """
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(name), name
    if _looks_binary(data):
        raise UndecodableError("binary content")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UndecodableError("binary content")
    encoding = best.encoding
    # charset-normalizer often names latin-1 where the bytes 0x80-0x9f make cp1252 the real answer
    # (curly quotes and dashes from Windows editors).
    if encoding in {"latin_1", "iso8859_1", "iso8859_15"} and re.search(rb"[\x80-\x9f]", data):
        encoding = "cp1252"
    # Windows code pages agree on the punctuation bytes; where the guess decodes exactly as cp1252 would,
    # name the code page English text was written in.
    if encoding.startswith("cp125") and encoding != "cp1252":
        try:
            if data.decode("cp1252") == data.decode(encoding):
                encoding = "cp1252"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError):
        return str(best), encoding


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return control / len(sample) > 0.05


_CONTROL_BYTES = bytes([*range(9), *range(14, 32)])  # control characters other than tab and line breaks
# Printable ASCII, tabs and line feeds: a line made only of these is left as it is by every ftfy fix used
# here (no mojibake, controls, terminal escapes or carriage returns to fix; NFC changes no ASCII).
_PLAIN_ASCII_LINE = re.compile(r"[\t\x20-\x7e]*\n?")
_PLAIN_ASCII_TEXT = re.compile(r"[\t\n\x20-\x7e]*")


def repair_unicode(text: str) -> tuple[str, list[str]]:
    """Repair mojibake with ftfy (curly quotes kept), NFC-normalise; returns the text and what changed."""
    import ftfy

    fixes = []
    config = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, fix_latin_ligatures=False,
                                  explain=False, normalization="NFC", unescape_html=False)
    fixed = _fix_lines(text, lambda chunk: ftfy.fix_text(chunk, config=config))
    if fixed != unicodedata.normalize("NFC", text):
        fixes.append("repaired mis-decoded characters (mojibake)")
    return unicodedata.normalize("NFC", fixed), fixes


def _fix_lines(text: str, fix) -> str:
    """``fix(text)`` for a fixer that, like ``ftfy.fix_text``, works on each line on its own: lines of plain
    ASCII are passed through and only the runs of other lines are fixed (ftfy's per-line overhead was
    a quarter of reading a page)."""
    if _PLAIN_ASCII_TEXT.fullmatch(text):
        return text
    lines = text.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    out: list[str] = []
    pending: list[str] = []
    for line in lines:
        if _PLAIN_ASCII_LINE.fullmatch(line):
            if pending:
                out.append(fix("".join(pending)))
                pending = []
            out.append(line)
        else:
            pending.append(line)
    if pending:
        out.append(fix("".join(pending)))
    return "".join(out)


# ----------------------------------------------------------------------------------------------
# Page chrome
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _boilerplate() -> tuple[re.Pattern, list[str], re.Pattern | None]:
    table = load_table("boilerplate")
    lines = table[table["kind"] != "inline"].reset_index(drop=True)
    line_regex = compile_alternation(lines["pattern"], flags=re.IGNORECASE, word_bounded=False)
    inline = table.loc[table["kind"] == "inline", "pattern"].tolist()
    inline_regex = compile_alternation(inline, word_bounded=True) if inline else None
    return line_regex, lines["kind"].tolist(), inline_regex


def chrome_kind(line: str) -> str:
    """The boilerplate kind of a whole line ("menu", "share", "page_date", ...) or "" for content."""
    regex, kinds, _ = _boilerplate()
    stripped = line.strip()
    if not stripped:
        return ""
    match = regex.fullmatch(stripped)
    if match is None:
        return ""
    return kinds[int(match.lastgroup[1:])]


def is_headline_like(line: str, capitalised_share: float = 0.5) -> bool:
    """A line shaped like a headline: 3-25 words, no closing punctuation, and at least
    ``capitalised_share`` of its words capitalised (0 accepts sentence-case headlines)."""
    stripped = line.strip()
    words = stripped.split()
    if not 3 <= len(words) <= 25 or stripped.endswith(_SENTENCE_END):
        return False
    capitalised = sum(1 for word in words if word[:1].isupper() or word[:1].isdigit())
    return capitalised / len(words) >= capitalised_share


def _is_body_line(line: str) -> bool:
    """A paragraph of running text: a sentence of 8+ words, or any line of 25+ words.
    A slogan ("Focus on the big picture.") is short even when it ends with a period."""
    words = line.split()
    return len(words) >= 25 or (len(words) >= 8 and line.rstrip().endswith(_SENTENCE_END))


def clean_page(raw: str, title: str = "", date: str = "", date_source: str = "", outlet: str = "") -> CleanPage:
    """Clean one page's text: returns a ``CleanPage`` (body text, title, date, outlet, fixes).

    ``title``/``date``/``outlet`` found by the caller (HTML metadata, front matter, export columns) are
    kept; otherwise the headline is taken from the top of the page and the date from a dateline
    ("2020-07-21 (Bloomberg) --") or a "Published:" line. A page banner date ("Wednesday, Nov 12, 2025")
    is the date the page was served, not the article's: it is kept in ``page_date`` and never used as
    ``date``.
    """
    text, fixes = repair_unicode(raw)
    page = CleanPage(text="", title=title, date=date, date_source=date_source, outlet=outlet, fixes=fixes)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_WS.sub(" ", line).strip() for line in text.split("\n")]

    removed: dict[str, int] = {}
    kept: list[str] = []
    for line in lines:
        kind = chrome_kind(line)
        if kind == "page_date":
            if not page.page_date:
                page.page_date = _parse_date(line)
            removed[kind] = removed.get(kind, 0) + 1
            continue
        if kind:
            removed[kind] = removed.get(kind, 0) + 1
            continue
        match = _PUBLISHED.match(line) if len(line.split()) <= 12 else None
        if match and _parse_date(match.group("date")):
            if not page.date:
                page.date, page.date_source = _parse_date(match.group("date")), "published line"
            removed["published line"] = removed.get("published line", 0) + 1
            continue
        kept.append(line)

    kept = _drop_headline_runs(kept, removed)
    kept = _take_title(_merge_wrapped_lines(kept), page, removed)
    body = "\n\n".join(kept)

    body = _take_dateline(body, page, removed)

    _, _, inline = _boilerplate()
    if inline is not None:
        body, n_inline = inline.subn(" ", body)
        if n_inline:
            removed["inline residue"] = n_inline
        body = re.sub(r"[ ]{2,}", " ", body)

    body, n_glued = _GLUED_SENTENCE.subn(r"\1 ", body)
    body, n_words = _GLUED_WORDS.subn(r"\g<0> ", body)
    n_glued += n_words
    if n_glued:
        page.fixes.append(f"split {n_glued} glued sentence boundary(ies)")
    for kind, count in sorted(removed.items()):
        page.fixes.append(f"removed {count} {kind} line(s)" if kind not in {"dateline", "inline residue"}
                          else f"removed {kind} ({count})")
    page.text = body.strip()
    if page.page_date and not page.date:
        page.date_source = f"none (page banner {page.page_date} ignored: the page's date, not the article's)"
    return page


def _take_dateline(body: str, page: CleanPage, removed: dict[str, int]) -> str:
    """Remove a wire dateline ("BEIJING, June 30 (Xinhua) --") from the start of one of the first
    paragraphs (a photo caption may come first), taking its date and outlet when none is known."""
    offset = 0
    for _ in range(4):
        match = _DATELINE.match(body, offset)
        if match and (match.group("date") or match.group("place") or match.group("date2")):
            # A dateline date without a year ("June 30") cannot be dated on its own.
            written = match.group("date") or match.group("date2") or ""
            parsed = _parse_date(written) if re.search(r"\d{4}", written) else ""
            if parsed and not page.date:
                page.date, page.date_source = parsed, "dateline"
            if not page.outlet:
                page.outlet = match.group("outlet").strip()
            removed["dateline"] = 1
            return body[:match.start()] + body[match.end():]
        next_break = body.find("\n\n", offset)
        if next_break < 0:
            break
        offset = next_break + 2
    return body


def _drop_headline_runs(lines: list[str], removed: dict[str, int]) -> list[str]:
    """Drop runs of >= 3 consecutive headline-like lines (related/most-read lists) after the body starts."""
    out: list[str] = []
    body_started = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            out.append(line)
            i += 1
            continue
        if body_started and is_headline_like(line, capitalised_share=0):
            j = i
            run = []
            while j < len(lines) and (not lines[j] or is_headline_like(lines[j], capitalised_share=0)):
                if lines[j]:
                    run.append(j)
                j += 1
            title_case = sum(is_headline_like(lines[k]) for k in run)
            # Three title-case headlines in a row, or five of any case, is a list of links, not prose.
            if title_case >= 3 or len(run) >= 5:
                removed["related-headline"] = removed.get("related-headline", 0) + len(run)
                i = j
                continue
        if _is_body_line(line):
            body_started = True
        out.append(line)
        i += 1
    return out


def _take_title(lines: list[str], page: CleanPage, removed: dict[str, int]) -> list[str]:
    """Find the headline above the first body paragraph; drop short site-name/slogan lines above it.

    When the title is already known (metadata, front matter, an export column), only a head line equal
    to it is dropped, with whatever short chrome sits above it; other head lines stay as text.
    """
    content = [line for line in lines if line]
    first_body = next((i for i, line in enumerate(content) if _is_body_line(line)), len(content))
    head, rest = content[:first_body], content[first_body:]
    if not head:
        return rest
    if page.title:
        if page.title not in head:
            return content
        index = head.index(page.title)
        headline = page.title
    else:
        headline = ""
        for i, line in enumerate(head):
            repeated = i + 1 < len(head) and head[i + 1] == line
            if repeated or is_headline_like(line, capitalised_share=0):
                headline = line
                if repeated:
                    break
        if not headline:
            headline = max(head, key=lambda line: len(line.split()))
        page.title = headline
        index = head.index(headline)
    dropped = [line for line in head[:index] if line != headline]
    if dropped:
        removed["site name/slogan"] = removed.get("site name/slogan", 0) + len(dropped)
    # What sits between the headline and the body (a standfirst, a subhead) stays as text.
    after = [line for line in head[index + 1:] if line != headline]
    return after + rest


def _merge_wrapped_lines(lines: list[str]) -> list[str]:
    """Paragraphs from lines: a line that stops mid-sentence and is followed by a line starting in lower
    case is one hard-wrapped paragraph; otherwise each line is its own paragraph."""
    paragraphs: list[str] = []
    previous_blank = True
    for line in lines:
        if not line:
            previous_blank = True
            continue
        if (paragraphs and not previous_blank and not paragraphs[-1].endswith(_SENTENCE_END)
                and line[:1].islower()):
            paragraphs[-1] += " " + line
        else:
            paragraphs.append(line)
        previous_blank = False
    return paragraphs


def _parse_date(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        parsed = date_parser.parse(value, fuzzy=True, default=None)
    except (ValueError, OverflowError, TypeError):
        try:
            parsed = date_parser.parse(value, fuzzy=True)
        except (ValueError, OverflowError, TypeError):
            return ""
    if not 1900 <= parsed.year <= 2100:
        return ""
    return parsed.date().isoformat()


def parse_date(value: object) -> str:
    """ISO date (YYYY-MM-DD) from a free-form date string, or "" when none can be read."""
    if is_missing(value):
        return ""
    return _parse_date(str(value))


# ----------------------------------------------------------------------------------------------
# Sentences
# ----------------------------------------------------------------------------------------------


def _unguarded_pattern(pattern):
    """One of nltk's own constant patterns without nltk's ReDoS guard: a ``nltk.redos.TimedPattern``
    compiled again with the same engine (``regex``) and flags; an ``re`` pattern (nltk before 3.9) as is."""
    if isinstance(pattern, re.Pattern):
        return pattern
    import regex

    return regex.compile(pattern.pattern, pattern.flags)


@lru_cache(maxsize=1)
def _unguarded_punkt_classes():
    """(language variables, token class) for Punkt that run nltk's own patterns without its ReDoS guard.

    Since 3.9 nltk sends every pattern through that guard (a Python wrapper that runs the ``regex``
    engine under a wall-clock timeout), which is there for caller-supplied patterns. Punkt's are nltk's
    own constants, applied to every word of every article, and the wrapper cost more than the matching:
    about a tenth of the whole per-article analysis. The patterns, engine and flags are nltk's, read off
    its classes, so the sentences are the ones nltk gives (tested, on the corpus and on ugly text).
    """
    from nltk.tokenize import punkt
    from nltk.tokenize.punkt import PunktLanguageVars, PunktToken

    class UnguardedPunktLanguageVars(PunktLanguageVars):
        re_boundary_realignment = _unguarded_pattern(PunktLanguageVars.re_boundary_realignment)

        def _word_tokenizer_re(self):
            return self._unguarded("word tokenizer", super()._word_tokenizer_re)

        def period_context_re(self):
            return self._unguarded("period context", super().period_context_re)

        def _unguarded(self, name: str, guarded):
            """The pattern ``guarded()`` gives, unguarded, made once per instance (as nltk caches its own)."""
            patterns = self.__dict__.setdefault("_unguarded_patterns", {})
            if name not in patterns:
                patterns[name] = _unguarded_pattern(guarded())
            return patterns[name]

    non_punct = _unguarded_pattern(punkt._re_non_punct)  # a module constant, read by ``is_non_punct``

    class UnguardedPunktToken(PunktToken):
        _RE_ELLIPSIS = _unguarded_pattern(PunktToken._RE_ELLIPSIS)
        _RE_NUMERIC = _unguarded_pattern(PunktToken._RE_NUMERIC)
        _RE_INITIAL = _unguarded_pattern(PunktToken._RE_INITIAL)
        _RE_ALPHA = _unguarded_pattern(PunktToken._RE_ALPHA)

        @property
        def is_non_punct(self):
            return non_punct.search(self.type)

    return UnguardedPunktLanguageVars, UnguardedPunktToken


@lru_cache(maxsize=1)
def sentence_tokenizer():
    """nltk's Punkt, configured offline: abbreviations from ``data/abbreviations.csv``, no download; its
    patterns run without nltk's ReDoS guard (``_unguarded_punkt_classes``)."""
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(load_table("abbreviations")["abbreviation"].str.lower())
    language_vars, token_class = _unguarded_punkt_classes()
    return PunktSentenceTokenizer(params, lang_vars=language_vars(), token_cls=token_class)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence of ``text``; paragraphs (blank lines) always end a sentence."""
    tokenizer = sentence_tokenizer()
    spans = []
    for paragraph in re.finditer(r"[^\n]+(?:\n(?!\n)[^\n]+)*", text):
        offset = paragraph.start()
        first = len(spans)
        for start, end in tokenizer.span_tokenize(paragraph.group()):
            # A "sentence" that starts in lower case continues the previous one ("(R-Fla.) agreed.").
            if len(spans) > first and text[offset + start:offset + start + 1].islower():
                spans[-1] = (spans[-1][0], offset + end)
                continue
            spans.append((offset + start, offset + end))
    return spans


def sentences(articles: pd.DataFrame) -> pd.DataFrame:
    """Split each article's ``text`` into sentences.

    In: ``articles`` with ``article`` and ``text``. Out: one row per sentence, columns
    ``article``, ``sentence_id`` (0-based within the article), ``start``, ``end`` (offsets into ``text``),
    ``text``.
    """
    rows = []
    for article, text in zip(articles["article"], articles["text"]):
        for i, (start, end) in enumerate(sentence_spans(text)):
            rows.append((article, i, start, end, text[start:end]))
    return pd.DataFrame(rows, columns=SENTENCE_COLUMNS)


def removed_lines(raw: str, clean: str) -> list[str]:
    """The non-blank lines of a raw page that do not survive into its clean text (what cleaning removed)."""
    kept = _WS.sub(" ", clean)
    removed = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        stripped = _WS.sub(" ", line).strip()
        if stripped and stripped not in kept:
            removed.append(stripped)
    return removed
