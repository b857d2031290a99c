"""Claims: which nation's state says or does something, sentence by sentence.

``extract_claims(articles)`` returns one row per (article, sentence, nation) where that nation's state
speaks or acts (``CLAIM_COLUMNS``):
    article, sentence_id   the sentence (ids from ``text.sentences``)
    start, end             character offsets of the sentence in the article's clean text
    date                   the article's date (ISO) or ""
    nation                 ISO 3166-1 alpha-3 (EUU, HKG, TWN included)
    actor                  who, as written ("UK Foreign Secretary Dominic Raab", "Beijing", "she")
    actor_kind             head / minister / legislature / diplomat / government / metonym / signatory
    speech                 direct (quoted) / indirect (reported speech) / act (a reported action) /
                           non_act ("did not join", "signed neither")
    text                   the sentence
    quote                  the quoted words in the sentence, if any
    on_target              True when the claim is about the policy under study (``data/target.csv``)
    target_terms           the policy / related terms found (";"-joined), evidence for ``on_target``

Mechanisms, all driven by data files: speech verbs and frames (``speech.csv``), the actor dictionary
(``actors``), anaphora ("she said", "the ministry said", "the four foreign ministers said":
``anaphora.csv``), joint statements (signatories named in a list, by their ministers, or referred to
later), post-quote attribution ('"...," she said'), multi-sentence quotes, and explicit non-acts.
``extract_voices(articles)`` returns the non-state speakers (analysts, scholars, NGOs ...), kept apart:
they never vote on a nation's stance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from .actors import ActorDictionary, Phrase, actor_dictionary
from .resources import compile_alternation, load_table
from .text import sentence_spans

CLAIM_COLUMNS = ["article", "sentence_id", "start", "end", "date", "nation", "actor", "actor_kind", "speech", "text",
                 "quote", "on_target", "target_terms"]
VOICE_COLUMNS = ["article", "sentence_id", "start", "end", "actor", "actor_kind", "text"]

_QUOTE = re.compile(r"“([^”]{3,})”?|\"([^\"]{3,})\"?")
_CLOSE_QUOTE_BEFORE = re.compile(r"[”\"]\s*,?\s*$|[,.?!]\s*[”\"]\s*$")
_LIST_GAP = re.compile(r"^\s*(?:,|and|, and|&|as well as|, as well as)\s*$")
_NAME_AFTER = re.compile(r"^\s*(?:(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+)?([A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?){0,2})")
_NAME_BEFORE = re.compile(r"(?:(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+)?([A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?){0,2})\s*$")
_SIGNING = re.compile(r"\b(?:(?:co-)?signed by|backed by|joined by|endorsed by|supported by|on behalf of|signatories(?: included| were)?|among them|including)\b", re.IGNORECASE)
_STATEMENT = re.compile(r"\b(?:(?:joint|four-nation|three-nation|two-nation|\w+-nation|\w+-country) )?(?:statement|declaration|communiqu[ée]|letter)s?\b", re.IGNORECASE)
_JOINT = re.compile(r"\b(?:joint|\w+-nation|\w+-country|co-signed|signed by|on behalf of|signatories)\b", re.IGNORECASE)
_ARTICLE_START = 4  # a phrase starting within this many words is in subject position


@dataclass
class _Speech:
    start: int
    end: int
    kind: str      # say / act / non_act
    text: str


@dataclass
class _Agent:
    nations: list[str]
    actor: str
    actor_kind: str
    state: bool
    person: bool = False
    non_state_kind: str = ""


@dataclass
class _Context:
    """What an article has said so far, for carry-over and joint statements."""

    last_person: _Agent | None = None
    last_state: _Agent | None = None
    recent_state: list[_Agent] = field(default_factory=list)
    last_group: _Agent | None = None
    signatories: list[str] = field(default_factory=list)
    signatory_actor: str = ""
    people: dict[str, _Agent] = field(default_factory=dict)   # surname -> who (non-state people too)

    def remember(self, agent: _Agent) -> None:
        if agent.person:
            self.last_person = agent
            surname = agent.actor.split()[-1] if agent.actor.split() else ""
            if surname[:1].isupper():
                self.people.setdefault(surname, agent)
        if agent.state:
            self.last_state = agent
            self.recent_state = [a for a in self.recent_state if a.nations != agent.nations][-3:] + [agent]
            if len(agent.nations) > 1:
                self.last_group = agent


class Lexicon:
    """Speech frames, target terms and anaphora, compiled once."""

    def __init__(self, extra: dict[str, object] | None = None):
        extra = extra or {}
        speech = load_table("speech", extra.get("speech"), key=["pattern"])
        self.speech_kinds = speech["type"].tolist()
        self.speech_regex = compile_alternation(speech["pattern"], flags=re.IGNORECASE)
        target = load_table("target", extra.get("target"), key=["pattern"])
        self.target_kinds = target["kind"].tolist()
        self.target_regex = compile_alternation(target["pattern"], flags=re.IGNORECASE)
        anaphora = load_table("anaphora", extra.get("anaphora"), key=["pattern"])
        self.anaphora_refers = anaphora["refers"].tolist()
        self.anaphora_regex = compile_alternation(anaphora["pattern"])

    def speech(self, text: str) -> list[_Speech]:
        found = []
        for match in self.speech_regex.finditer(text):
            found.append(_Speech(match.start(), match.end(), self.speech_kinds[int(match.lastgroup[1:])], match.group()))
        return found

    def targets(self, text: str) -> list[tuple[str, str]]:
        """(kind, term) pairs: kind is law / related / critic / off."""
        return [(self.target_kinds[int(m.lastgroup[1:])], m.group()) for m in self.target_regex.finditer(text)]

    def anaphora(self, text: str) -> list[tuple[int, int, str, str]]:
        return [(m.start(), m.end(), self.anaphora_refers[int(m.lastgroup[1:])], m.group())
                for m in self.anaphora_regex.finditer(text)]


@lru_cache(maxsize=2)
def _default_lexicon() -> Lexicon:
    return Lexicon()


def lexicon(extra: dict[str, object] | None = None) -> Lexicon:
    """The packaged speech/target/anaphora lexicon (cached), or one extended with the researcher's tables."""
    return _default_lexicon() if not extra else Lexicon(extra)


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


def extract_claims(articles: pd.DataFrame, dictionary: ActorDictionary | None = None,
                   lex: Lexicon | None = None) -> pd.DataFrame:
    """Claims by states in ``articles`` (needs ``article``, ``text``; ``date`` used when present)."""
    claims, _ = extract_claims_and_voices(articles, dictionary, lex)
    return claims


def extract_voices(articles: pd.DataFrame, dictionary: ActorDictionary | None = None,
                   lex: Lexicon | None = None) -> pd.DataFrame:
    """Non-state speakers (analysts, scholars, NGOs, outlets ...): ``VOICE_COLUMNS``."""
    _, voices = extract_claims_and_voices(articles, dictionary, lex)
    return voices


def extract_claims_and_voices(articles: pd.DataFrame, dictionary: ActorDictionary | None = None,
                              lex: Lexicon | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both tables in one pass over the articles."""
    dictionary = dictionary or actor_dictionary()
    lex = lex or lexicon()
    claim_rows: list[tuple] = []
    voice_rows: list[tuple] = []
    dates = articles["date"] if "date" in articles else [""] * len(articles)
    for article, text, date in zip(articles["article"], articles["text"], dates):
        claims, voices = article_claims(article, text, str(date or ""), dictionary, lex)
        claim_rows.extend(claims)
        voice_rows.extend(voices)
    claims = pd.DataFrame(claim_rows, columns=CLAIM_COLUMNS)
    claims = claims.drop_duplicates(subset=["article", "sentence_id", "nation"], keep="first")
    claims = claims.sort_values(["article", "sentence_id", "nation"], kind="stable").reset_index(drop=True)
    voices = pd.DataFrame(voice_rows, columns=VOICE_COLUMNS).drop_duplicates()
    voices = voices.sort_values(["article", "sentence_id", "actor"], kind="stable").reset_index(drop=True)
    return claims, voices


def article_claims(article: str, text: str, date: str, dictionary: ActorDictionary,
                   lex: Lexicon) -> tuple[list[tuple], list[tuple]]:
    """Claim rows and voice rows of one article (the per-article unit any engine can map)."""
    context = _Context()
    spans = sentence_spans(text)
    sentence_texts = [text[start:end] for start, end in spans]
    agents: list[list[_Agent]] = []
    speech_types: list[str] = []
    open_quote_agent: _Agent | None = None
    for sentence in sentence_texts:
        found, speech_type = _sentence_agents(sentence, date, dictionary, lex, context)
        quotes = _quotes(sentence)
        starts_in_quote = open_quote_agent is not None
        if not found and starts_in_quote:
            found, speech_type = [open_quote_agent], "direct"
        agents.append(found)
        speech_types.append(speech_type)
        # A quote that stays open at the end of the sentence continues in the next one.
        opens = sentence.count("“") + sentence.count('"') % 2
        closes = sentence.count("”")
        if found and (sentence.count("“") > closes or sentence.count('"') % 2 == 1):
            open_quote_agent = found[0]
        elif closes > sentence.count("“") or (starts_in_quote and '"' in sentence):
            open_quote_agent = None
        del opens, quotes
    # An unattributed quoted sentence takes the speaker of the next sentence when that one is a quote
    # attributed afterwards ('"..." (sentence) "...," she said.').
    for i in range(len(sentence_texts) - 2, -1, -1):
        if not agents[i] and _quotes(sentence_texts[i]) and sentence_texts[i].lstrip().startswith(("“", '"')):
            if agents[i + 1] and _quotes(sentence_texts[i + 1]):
                agents[i], speech_types[i] = agents[i + 1], "direct"

    term_hits = [lex.targets(sentence) for sentence in sentence_texts]
    on_target = _on_target(term_hits)
    claim_rows, voice_rows = [], []
    for i, ((start, end), sentence) in enumerate(zip(spans, sentence_texts)):
        quote = " … ".join(_quotes(sentence))
        for agent in agents[i]:
            if not agent.state:
                voice_rows.append((article, i, start, end, agent.actor, agent.non_state_kind or agent.actor_kind,
                                   sentence))
                continue
            kind = speech_types[i] or ("direct" if quote else "indirect")
            if kind == "say":
                kind = "direct" if quote else "indirect"
            terms = ";".join(sorted({term.lower() for term_kind, term in term_hits[i]
                                     if term_kind in {"law", "related"}}))
            for nation in agent.nations:
                claim_rows.append((article, i, start, end, date, nation, agent.actor, agent.actor_kind, kind,
                                   sentence, quote, on_target[i], terms))
    return claim_rows, voice_rows


# ----------------------------------------------------------------------------------------------
# One sentence
# ----------------------------------------------------------------------------------------------


def _quotes(sentence: str) -> list[str]:
    return [(m.group(1) or m.group(2)).strip() for m in _QUOTE.finditer(sentence)
            if len((m.group(1) or m.group(2)).split()) >= 2]


def _inside_quote(sentence: str, position: int) -> bool:
    before = sentence[:position]
    return before.count("“") > before.count("”") or before.count('"') % 2 == 1


def _sentence_agents(sentence: str, date: str, dictionary: ActorDictionary, lex: Lexicon,
                     context: _Context) -> tuple[list[_Agent], str]:
    """Who speaks or acts in ``sentence``; returns (agents, speech type of the main verb)."""
    phrases = dictionary.phrases(sentence, date)
    anaphora = lex.anaphora(sentence)
    speeches = [speech for speech in lex.speech(sentence) if not _inside_quote(sentence, speech.start)]
    agents: list[_Agent] = []
    speech_type = ""

    _learn_people(sentence, phrases, dictionary, context)

    # Joint statements: signatories listed after "signed by", "on behalf of", or as the subject.
    signatories = _signatories(sentence, phrases, speeches, context)
    if signatories:
        agents.append(_Agent(signatories, "signatories of the statement", "signatory", True))
        speech_type = "act"

    for speech in speeches:
        agent = _agent_of(sentence, speech, phrases, anaphora, date, dictionary, context)
        if agent is None:
            continue
        if agent.state and agent.nations and not any(a.nations == agent.nations for a in agents):
            agents.append(agent)
            speech_type = speech_type or speech.kind
            context.remember(agent)
        elif not agent.state:
            agents.append(agent)
            if agent.person:
                context.last_person = agent  # an analyst in between breaks a chain of "she said"
        if speech.kind == "non_act":
            speech_type = "non_act"

    if not any(agent.state for agent in agents):
        # A state actor in subject position with no speech verb found: a reported act
        # ("Authorities in Hong Kong made the first arrests under the new law").
        first = next((phrase for phrase in phrases if phrase.actor_kind not in {"demonym", "people"}), None)
        if first is not None and first.state and first.nation and _word_index(sentence, first.start) <= _ARTICLE_START:
            agent = _agent_from_phrase(first)
            agents.append(agent)
            context.remember(agent)
            speech_type = speech_type or "act"
    return agents, speech_type


def _word_index(sentence: str, position: int) -> int:
    return len(sentence[:position].split())


def _agent_from_phrase(phrase: Phrase, metonym: bool = False) -> _Agent:
    kind = phrase.actor_kind
    if metonym and kind == "place":
        kind = "metonym"
    return _Agent([phrase.nation], phrase.text, kind, True, phrase.person)


def _agent_of(sentence: str, speech: _Speech, phrases: list[Phrase], anaphora, date: str,
              dictionary: ActorDictionary, context: _Context) -> _Agent | None:
    """The subject of one speech verb: after it in a post-quote attribution or "according to X",
    otherwise the nearest actor before it in the same clause."""
    before = sentence[:speech.start]
    inverted = bool(_CLOSE_QUOTE_BEFORE.search(before)) or speech.text.lower().startswith("according to")
    if inverted:
        agent = _candidate_after(sentence, speech.end, phrases, anaphora, date, dictionary, context)
        if agent is not None:
            return agent
    return _candidate_before(sentence, speech.start, phrases, anaphora, date, dictionary, context)


def _candidate_after(sentence, position, phrases, anaphora, date, dictionary, context) -> _Agent | None:
    window_end = position + 6
    for start, end, refers, text in anaphora:
        if position <= start <= window_end:
            return _resolve_anaphor(refers, text, context)
    for phrase in phrases:
        if position <= phrase.start <= window_end:
            return _phrase_agent(sentence, phrase, phrases, context, after=True)
    match = _NAME_AFTER.match(sentence[position:])
    if match:
        return _name_agent(match.group(1), sentence[position + match.end():], date, dictionary, context)
    return None


def _candidate_before(sentence, position, phrases, anaphora, date, dictionary, context) -> _Agent | None:
    skip = _parenthetical_before(sentence, position)
    candidates = []
    for phrase in phrases:
        if phrase.end <= position and not (skip and skip[0] <= phrase.start < skip[1]):
            candidates.append((phrase.end, "phrase", phrase))
    for start, end, refers, text in anaphora:
        if end <= position and not (skip and skip[0] <= start < skip[1]):
            candidates.append((end, "anaphor", (refers, text)))
    if not candidates:
        match = _NAME_BEFORE.search(sentence[:skip[0]] if skip else sentence[:position])
        if match and position - match.end() <= 20:
            return _name_agent(match.group(1), "", date, dictionary, context)
        return None
    end, kind, item = max(candidates, key=lambda candidate: candidate[0])
    gap = sentence[end:skip[0] if skip and skip[0] >= end else position]
    # The subject sits close to its verb ("Raab said", "The four foreign ministers said Thursday").
    if len(gap.split()) > 8 or re.search(r"[;:”\"]", gap):
        return None
    if kind == "anaphor":
        return _resolve_anaphor(item[0], item[1], context)
    return _phrase_agent(sentence, item, phrases, context, after=False)


def _parenthetical_before(sentence: str, position: int) -> tuple[int, int] | None:
    """The span of ", which is not part of the statement," right before the verb, to look past it."""
    before = sentence[:position].rstrip()
    if before.endswith(","):
        opening = before.rfind(",", 0, len(before) - 1)
        if opening > 0:
            return opening, len(before)
    if before.endswith(")"):
        opening = before.rfind("(")
        if opening >= 0:
            return opening, len(before)
    return None


def _phrase_agent(sentence: str, phrase: Phrase, phrases: list[Phrase], context: _Context,
                  after: bool) -> _Agent | None:
    if phrase.non_state:
        return _Agent([], phrase.text, phrase.actor_kind, False, person=True, non_state_kind=phrase.actor_kind)
    if phrase.actor_kind in {"people", "demonym"}:
        return None
    if not phrase.nation:
        # A bare role ("the spokesman", "the ministry"): the last compatible state actor.
        refers = "person_state" if phrase.person else "state"
        return _resolve_anaphor(refers, phrase.text, context)
    nations = [phrase.nation]
    actor = phrase.text
    if not after:
        # Coordinated subjects: "The US, Britain, Australia and Canada call on China".
        index = phrases.index(phrase)
        while index > 0:
            previous = phrases[index - 1]
            if not _LIST_GAP.match(sentence[previous.end:phrases[index].start]) or not previous.nation:
                break
            if previous.actor_kind in {"people"} or previous.non_state:
                break
            nations.insert(0, previous.nation)
            actor = sentence[previous.start:phrase.end]
            index -= 1
    nations = list(dict.fromkeys(nations))
    kind = "metonym" if phrase.actor_kind in {"place", "demonym"} else phrase.actor_kind
    if len(nations) > 1 and kind != "metonym":
        kind = phrase.actor_kind
    return _Agent(nations, actor, kind, True, phrase.person and len(nations) == 1)


def _name_agent(name: str, following: str, date: str, dictionary: ActorDictionary,
                context: _Context) -> _Agent | None:
    """A capitalised name the dictionary does not know: someone seen earlier, a typo of an official's
    surname, or an unknown person (not a state actor; it breaks a chain of "she said")."""
    surname = name.split()[-1]
    if surname in context.people:
        return context.people[surname]
    official = dictionary.fuzzy_official(surname, date)
    if official is not None:
        return _Agent([official.nation], name, official.kind, True, True)
    if name in {"The", "A", "An", "It", "This", "That", "But", "And", "In", "On", "He", "She", "They", "We"}:
        return None
    kind = _apposition_kind(following, dictionary, date)
    agent = _Agent([], name, kind or "unknown", False, person=True, non_state_kind=kind or "unknown")
    context.people.setdefault(surname, agent)
    return agent


def _apposition_kind(following: str, dictionary: ActorDictionary, date: str) -> str:
    """The non-state kind named in an apposition (", a research scholar at Columbia University")."""
    match = re.match(r"^\s*,\s*([^,.;]{3,120})", following)
    if not match:
        return ""
    for phrase in dictionary.phrases(match.group(1), date):
        if phrase.non_state:
            return phrase.actor_kind
    return ""


def _learn_people(sentence: str, phrases: list[Phrase], dictionary: ActorDictionary, context: _Context) -> None:
    """Remember "Name, a <non-state role>" so that a later "Name said" is not taken for a state."""
    for match in re.finditer(r"([A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2}),\s+(?:an?|the)\s+([^,.;]{3,100})", sentence):
        surname = match.group(1).split()[-1]
        if surname in context.people:
            continue
        for phrase in dictionary.phrases(match.group(2)):
            if phrase.non_state:
                context.people[surname] = _Agent([], match.group(1), phrase.actor_kind, False, True, phrase.actor_kind)
                break


def _resolve_anaphor(refers: str, text: str, context: _Context) -> _Agent | None:
    if refers == "statement":
        if context.signatories:
            return _Agent(list(context.signatories), text, "signatory", True)
        return None
    if refers == "pair":
        pair = [agent for agent in context.recent_state if agent.person][-2:]
        if len(pair) == 2:
            nations = list(dict.fromkeys(pair[0].nations + pair[1].nations))
            return _Agent(nations, text, pair[-1].actor_kind, True)
        return None
    if refers == "group":
        if context.last_group is not None:
            return _Agent(list(context.last_group.nations), text, context.last_group.actor_kind, True)
        if context.signatories:
            return _Agent(list(context.signatories), text, "signatory", True)
        return None
    if refers == "person":
        agent = context.last_person
        if agent is None:
            return None
        return _Agent(list(agent.nations), text, agent.actor_kind, agent.state, True, agent.non_state_kind)
    if refers == "person_state":
        agent = next((a for a in reversed(context.recent_state) if a.person), context.last_state)
    else:
        agent = context.last_state
    if agent is None or len(agent.nations) != 1:
        return None
    return _Agent(list(agent.nations), text, agent.actor_kind, True, refers == "person_state")


def _signatories(sentence: str, phrases: list[Phrase], speeches: list[_Speech], context: _Context) -> list[str]:
    """Nations that sign a joint statement named in this sentence; remembered for later references."""
    if not _STATEMENT.search(sentence) or not _JOINT.search(sentence + " "):
        return []
    nations: list[str] = []
    signing = _SIGNING.search(sentence)
    statement_at = _STATEMENT.search(sentence).start()
    for phrase in phrases:
        if not phrase.nation or phrase.actor_kind in {"people", "demonym"} or phrase.non_state:
            continue
        in_list = signing is not None and phrase.start >= signing.end()
        # The subject side of "X and his counterparts ... statement" (before the first verb).
        first_verb = min((s.start for s in speeches), default=len(sentence))
        as_subject = phrase.end <= first_verb and (phrase.state or _LIST_GAP.match(" , ") is not None)
        if in_list or (as_subject and phrase.start < max(first_verb, statement_at)):
            if not re.search(r"\b(?:on|to|against|urged|with)\s*$", sentence[:phrase.start]):
                nations.append(phrase.nation)
    nations = list(dict.fromkeys(nations))
    if len(nations) >= 2 or (nations and context.signatories):
        context.signatories = list(dict.fromkeys(context.signatories + nations))
        return list(context.signatories)
    return []


def _on_target(term_hits: list[list[tuple[str, str]]]) -> list[bool]:
    """A sentence is on target when it names the policy or a related issue; a sentence next to one that
    does, and naming nothing off-topic, counts too ("we deplore this decision")."""
    direct = [any(kind in {"law", "related"} for kind, _ in hits) for hits in term_hits]
    off = [any(kind == "off" for kind, _ in hits) and not direct[i] for i, hits in enumerate(term_hits)]
    result = []
    for i, is_direct in enumerate(direct):
        if is_direct:
            result.append(True)
        elif off[i]:
            result.append(False)
        else:
            neighbours = direct[max(0, i - 1):i] + direct[i + 1:i + 2]
            result.append(any(neighbours))
    return result


def highlight_claims(claims: pd.DataFrame, limit: int = 40) -> str:
    """HTML of claim sentences with the actor highlighted and the nation and speech type in front."""
    import html

    parts = []
    for row in claims.head(limit).itertuples():
        sentence = html.escape(row.text)
        actor = html.escape(str(row.actor))
        if actor and actor in sentence:
            sentence = sentence.replace(actor, f"<mark>{actor}</mark>", 1)
        parts.append(f"<p><b>{html.escape(row.nation)}</b> <i>({html.escape(row.speech)}, "
                     f"{html.escape(row.actor_kind)})</i>: {sentence}</p>")
    return "\n".join(parts)
