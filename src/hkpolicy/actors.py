"""Actors: who, in a sentence, could speak for a nation, and who could not.

The dictionary is data (``hkpolicy/data``): ``countries.csv`` (names, demonyms, capitals, seats of power),
``institutions.csv`` (named ministries, legislatures, agencies), ``officials.csv`` (office-holders with
their dates), ``roles.csv`` (generic role words: "foreign minister", "embassy", "government"),
``non_state.csv`` (analysts, scholars, NGOs, outlets, companies, international bodies) and
``traps.csv`` (contexts where a country name is not the country: "Washington Post", "Georgia's
governor"). A researcher passes extra CSVs with the same columns to extend or override any of them.

``find_actors(sentences)`` returns one row per actor phrase (``MENTION_COLUMNS``):
    article, sentence_id, start, end   where the phrase is (offsets into the article's clean text)
    actor        the phrase as written ("UK Foreign Secretary Dominic Raab", "Beijing", "analysts")
    nation       ISO 3166-1 alpha-3 (EUU, HKG, TWN included) or "" when no nation
    actor_kind   head / minister / legislature / diplomat / government / metonym (a country or capital
                 name standing for its state) / place (a bare name, not yet an actor) / or the non-state
                 kind: analyst, scholar, think_tank, ngo, activist, opposition, company, journalist,
                 outlet, anonymous, international_org
    state        True when the phrase names a state actor (a metonym counts once it is a subject)
    person       True for a single person (officials, "the spokesman"), for carry-over of he/she

Look-up is compiled once per dictionary: one prefix-tree regex for all literal names, one alternation per
pattern table; no per-entry regexes per sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from .resources import compile_alternation, compile_literals, load_table

MENTION_COLUMNS = ["article", "sentence_id", "start", "end", "actor", "nation", "actor_kind", "state", "person"]

STATE_KINDS = ("head", "minister", "legislature", "diplomat", "government", "metonym", "signatory")
PERSON_ROLE_KINDS = {"head", "minister", "diplomat"}
# Words that, between two dictionary hits, keep them in one phrase ("Japan's foreign minister",
# "Minister of Foreign Affairs of China", "Prime Minister Boris Johnson of Britain").
_GLUE = re.compile(r"^(?:\s*(?:[’']s|of|of the|for|in|the|to|at)?\s*|\s*,\s*)$", re.IGNORECASE)
_POSSESSIVE_WORDS = re.compile(r"^[’']s\s+(?:[A-Za-z-]+\s+){1,3}$")


@dataclass(frozen=True)
class Entry:
    """One dictionary entry behind a matched string."""

    source: str          # country / institution / official / role / non_state
    nation: str = ""
    kind: str = ""       # countries: name/demonym/people/capital/seat; others: the actor kind
    label: str = ""
    start: str = ""      # officials: first day in the role
    end: str = ""        # officials: last day ("" = open)
    person: bool = False


@dataclass
class Hit:
    start: int
    end: int
    entries: tuple[Entry, ...]


@dataclass
class Phrase:
    """An actor phrase: adjacent hits merged ("Australian Foreign Minister Marise Payne")."""

    start: int
    end: int
    text: str
    nation: str = ""
    actor_kind: str = "place"
    state: bool = False
    person: bool = False
    non_state: bool = False  # named as not the state: analyst, scholar, NGO, outlet, company ...
    hits: list[Hit] = field(default_factory=list)


class ActorDictionary:
    """All actor knowledge, compiled once. ``extra`` maps a table name to a user CSV/DataFrame."""

    def __init__(self, extra: dict[str, object] | None = None):
        extra = extra or {}
        countries = load_table("countries", extra.get("countries"), key=["alias"])
        institutions = load_table("institutions", extra.get("institutions"), key=["alias"])
        officials = load_table("officials", extra.get("officials"))
        roles = load_table("roles", extra.get("roles"), key=["role"])
        non_state = load_table("non_state", extra.get("non_state"), key=["pattern"])
        traps = load_table("traps", extra.get("traps"), key=["pattern"])

        self.names = {code: name for code, name in zip(countries["code"], countries["name"]) if name}
        literals: dict[str, list[Entry]] = {}
        for row in countries.itertuples(index=False):
            literals.setdefault(row.alias, []).append(Entry("country", row.code, row.kind, row.name))
        for row in institutions.itertuples(index=False):
            literals.setdefault(row.alias, []).append(Entry("institution", row.code, row.kind, row.role))
        for row in officials.itertuples(index=False):
            names = [row.name] + [alias for alias in row.aliases.split("|") if alias]
            entry = Entry("official", row.code, row.kind, f"{row.name} ({row.role})", row.start, row.end, True)
            for alias in names:
                literals.setdefault(alias.strip(), []).append(entry)
        self.literals = literals
        self.literal_regex = compile_literals(literals)
        self.surnames = _surname_index(officials)

        self.role_kinds = roles["kind"].tolist()
        self.role_regex = compile_literals(roles["role"], flags=re.IGNORECASE)
        self.role_lookup = {role.lower(): kind for role, kind in zip(roles["role"], roles["kind"])}

        cased = non_state["pattern"].str.contains(r"[A-Z]", regex=True)
        self.non_state_cased = non_state[cased].reset_index(drop=True)
        self.non_state_plain = non_state[~cased].reset_index(drop=True)
        self.non_state_cased_kinds = self.non_state_cased["kind"].tolist()
        self.non_state_plain_kinds = self.non_state_plain["kind"].tolist()
        self.non_state_cased_regex = compile_alternation(self.non_state_cased["pattern"])
        self.non_state_plain_regex = compile_alternation(self.non_state_plain["pattern"], flags=re.IGNORECASE)
        self.trap_regex = compile_alternation(traps["pattern"])

    # ------------------------------------------------------------------------------------------
    def hits(self, text: str, date: str = "") -> list[Hit]:
        """Dictionary hits in ``text``, longest first where they overlap; traps remove what they cover."""
        found: list[Hit] = []
        for match in self.literal_regex.finditer(text):
            entries = self._entries_at_date(self.literals.get(match.group(), []), date)
            if entries:
                found.append(Hit(match.start(), match.end(), tuple(entries)))
        for match in self.role_regex.finditer(text):
            kind = self.role_lookup.get(match.group().lower(), "government")
            found.append(Hit(match.start(), match.end(), (Entry("role", "", kind, match.group().lower()),)))
        for regex, kinds in ((self.non_state_cased_regex, self.non_state_cased_kinds),
                             (self.non_state_plain_regex, self.non_state_plain_kinds)):
            for match in regex.finditer(text):
                kind = kinds[int(match.lastgroup[1:])]
                found.append(Hit(match.start(), match.end(), (Entry("non_state", "", kind, match.group()),)))
        traps = [(match.start(), match.end()) for match in self.trap_regex.finditer(text)]
        if traps:
            found = [hit for hit in found
                     if not (hit.entries[0].source == "country"
                             and any(start <= hit.start and hit.end <= end for start, end in traps))]
        # Longest first; drop hits contained in a longer one ("China" inside "China Daily").
        found.sort(key=lambda hit: (hit.start, -(hit.end - hit.start)))
        kept: list[Hit] = []
        for hit in found:
            if kept and hit.start < kept[-1].end:
                if hit.end <= kept[-1].end:
                    continue
                if hit.end - hit.start <= kept[-1].end - kept[-1].start:
                    continue
                kept.pop()
            kept.append(hit)
        return kept

    def _entries_at_date(self, entries: list[Entry], date: str) -> list[Entry]:
        officials = [entry for entry in entries if entry.source == "official"]
        if not officials:
            return entries
        others = [entry for entry in entries if entry.source != "official"]
        if date:
            active = [entry for entry in officials
                      if (not entry.start or entry.start <= date) and (not entry.end or date <= entry.end)]
        else:
            active = officials
        # Someone who held a role around the time (a name in the news shortly after leaving office)
        # still speaks for the same nation; if all candidates agree on the nation, keep the best.
        if not active:
            active = officials
        nations = {entry.nation for entry in active}
        if len(nations) > 1:
            return others  # an ambiguous surname: not resolved rather than guessed
        return others + [max(active, key=lambda entry: entry.start)]

    def phrases(self, text: str, date: str = "") -> list[Phrase]:
        """Actor phrases: runs of hits joined by glue words, each given a nation and a kind."""
        hits = self.hits(text, date)
        groups: list[list[Hit]] = []
        for hit in hits:
            if groups:
                previous = groups[-1][-1]
                gap = text[previous.end:hit.start]
                if _joinable(gap, previous, hit):
                    groups[-1].append(hit)
                    continue
            groups.append([hit])
        return [self._phrase(text, group) for group in groups]

    def _phrase(self, text: str, group: list[Hit]) -> Phrase:
        phrase = Phrase(group[0].start, group[-1].end, text[group[0].start:group[-1].end], hits=group)
        non_state, officials, institutions, roles, countries = [], [], [], [], []
        by_source = {"non_state": non_state, "official": officials, "institution": institutions, "role": roles,
                     "country": countries}
        for hit in group:  # the group's entries by source, in order (one pass: called for every phrase)
            for entry in hit.entries:
                found = by_source.get(entry.source)
                if found is not None:
                    found.append(entry)
        if non_state and not officials:
            phrase.actor_kind = non_state[0].kind
            phrase.non_state = True
            return phrase
        if officials:
            official = officials[-1]
            phrase.nation, phrase.actor_kind, phrase.state, phrase.person = official.nation, official.kind, True, True
            return phrase
        nation_entries = [entry for entry in countries if entry.kind in {"name", "demonym", "capital", "seat"}]
        if institutions:
            institution = institutions[-1]
            phrase.nation, phrase.actor_kind, phrase.state = institution.nation, institution.kind or "government", True
            return phrase
        if roles and nation_entries:
            role = roles[-1]
            phrase.nation, phrase.actor_kind, phrase.state = nation_entries[0].nation, role.kind, True
            phrase.person = role.kind in PERSON_ROLE_KINDS and not role.label.endswith("s")
            return phrase
        if roles:
            # A bare role ("the ministry", "the spokesman"): resolved by carry-over in claims.
            role = roles[-1]
            phrase.actor_kind = role.kind
            phrase.person = role.kind in PERSON_ROLE_KINDS and not role.label.endswith("s")
            return phrase
        if countries:
            country = countries[0]
            phrase.nation = country.nation
            phrase.actor_kind = {"people": "people", "demonym": "demonym"}.get(country.kind, "place")
            return phrase
        return phrase

    def fuzzy_official(self, token: str, date: str = "") -> Entry | None:
        """An official whose surname is one edit away from ``token`` (typos like "Ortegus"), if unique."""
        if len(token) < 5:
            return None
        candidates = []
        for surname, entries in self.surnames.get(len(token), {}).items():
            if _one_edit(token, surname):
                candidates.extend(entries)
        candidates = self._entries_at_date(candidates, date)
        return candidates[0] if len(candidates) == 1 else None


def _joinable(gap: str, previous: Hit, hit: Hit) -> bool:
    before, after = previous.entries[0], hit.entries[0]
    if before.source == "country" and after.source == "role" and _POSSESSIVE_WORDS.match(gap):
        return True  # "India's external affairs ministry", "China's top legislature"
    if len(gap) > 12 or not _GLUE.match(gap):
        return False
    if gap.strip() == ",":
        # Apposition only when it names a role: "Champagne, Canada's foreign minister".
        return before.source == "official" and after.source in {"country", "role"}
    if gap.strip().lower() in {"and"}:
        return False
    if before.source == "country" and after.source == "country":
        return False  # "US, Britain" is a list, not one actor
    if before.source == "non_state" and after.source == "country":
        return gap.strip().lower() in {"in", "at", "of", "of the"}
    return True


def _surname_index(officials: pd.DataFrame) -> dict[int, dict[str, list[Entry]]]:
    index: dict[int, dict[str, list[Entry]]] = {}
    for row in officials.itertuples(index=False):
        surname = row.name.split()[-1]
        entry = Entry("official", row.code, row.kind, f"{row.name} ({row.role})", row.start, row.end, True)
        index.setdefault(len(surname), {}).setdefault(surname, []).append(entry)
    return index


def _one_edit(a: str, b: str) -> bool:
    if a == b or len(a) != len(b):
        return False
    return sum(1 for x, y in zip(a, b) if x != y) == 1


@lru_cache(maxsize=4)
def _default_dictionary() -> ActorDictionary:
    return ActorDictionary()


def actor_dictionary(extra: dict[str, object] | None = None) -> ActorDictionary:
    """The packaged dictionary (cached), or a new one extended with the researcher's tables."""
    return _default_dictionary() if not extra else ActorDictionary(extra)


def find_actors(sentences: pd.DataFrame, dates: dict[str, str] | None = None,
                dictionary: ActorDictionary | None = None) -> pd.DataFrame:
    """Actor phrases in each sentence.

    In: ``sentences`` (``text.sentences`` output: article, sentence_id, start, end, text), optional
    ``dates`` {article: ISO date} so that office-holders resolve by date. Out: ``MENTION_COLUMNS``.
    """
    dictionary = dictionary or actor_dictionary()
    rows = []
    for sentence in sentences.itertuples(index=False):
        date = (dates or {}).get(sentence.article, "")
        for phrase in dictionary.phrases(sentence.text, date):
            rows.append((sentence.article, sentence.sentence_id, sentence.start + phrase.start,
                         sentence.start + phrase.end, phrase.text, phrase.nation, phrase.actor_kind, phrase.state,
                         phrase.person))
    return pd.DataFrame(rows, columns=MENTION_COLUMNS)


def nation_names(dictionary: ActorDictionary | None = None) -> dict[str, str]:
    """{code: display name} for every nation in the dictionary."""
    return dict((dictionary or actor_dictionary()).names)
