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
    clause                 the part of the sentence that is this actor's (the whole sentence unless another
                           speaker shares it: "Critics say ... - China has said it will return stability");
                           stance is read from it
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
from dataclasses import dataclass, field, replace
from functools import lru_cache

import pandas as pd

from .actors import ActorDictionary, Phrase, actor_dictionary
from .resources import compile_alternation, load_table, prefiltered, search_tail
from .text import sentence_spans

CLAIM_COLUMNS = ["article", "sentence_id", "start", "end", "date", "nation", "actor", "actor_kind", "speech", "text",
                 "clause", "quote", "on_target", "target_terms"]
VOICE_COLUMNS = ["article", "sentence_id", "start", "end", "actor", "actor_kind", "text"]

_QUOTE = re.compile(r"“([^”]{3,})”?|\"([^\"]{3,})\"?")
_CLOSE_QUOTE_BEFORE = re.compile(r"[”\"]\s*,?\s*$|[,.?!]\s*[”\"]\s*$")
_LIST_GAP = re.compile(r"^\s*(?:,|and|, and|&|as well as|, as well as)\s*$")
_NAME_AFTER = re.compile(r"^\s*(?:(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+)?([A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?){0,2})")
_NAME_BEFORE = re.compile(r"(?:(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+)?([A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?){0,2})\s*$")
_ARTICLE_START = 4  # a phrase starting within this many words is in subject position
_POSSESSIVE = re.compile(r"[’']s\s+")  # "Beijing’s assertion": the possessor speaks, even after "to"
_LEARNED_PERSON = re.compile(r"([A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2}),\s+(?:an?|the)\s+([^,.;]{3,100})")
_LEARNED_PERSON_HINT = re.compile(r",\s+(?:an?|the)\s")  # what every such apposition contains


@lru_cache(maxsize=1)
def _frames() -> dict[str, re.Pattern]:
    """The sentence frames of ``data/frames.csv`` (statement nouns, signing markers, clause breaks ...)."""
    table = load_table("frames")
    return {name: prefiltered(pattern, re.IGNORECASE if "i" in flags else 0)
            for name, pattern, flags in zip(table["name"], table["pattern"], table["flags"])}


def _frame(name: str) -> re.Pattern:
    return _frames()[name]


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
    speech: str = ""  # overrides the sentence's speech type for this agent (a credited act)
    subject: int = 0  # where the subject stands in the sentence
    inverted: bool = False  # the subject follows its words ('"...," said X')


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
    sentence_agent: _Agent | None = None  # the last subject found in the current sentence

    def remember(self, agent: _Agent) -> None:
        if agent.person:
            self.last_person = agent
            # Both of the last two capitalised words: "Zhao Lijian" is later "Zhao", "Dominic Raab" "Raab".
            for name in [word for word in agent.actor.split() if word[:1].isupper()][-2:]:
                if name.isalpha():
                    self.people.setdefault(name, agent)
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
    previous_quote_agent: _Agent | None = None
    for sentence in sentence_texts:
        found, speech_type = _sentence_agents(sentence, date, dictionary, lex, context)
        unattributed_quote = not found and sentence.lstrip().startswith(("“", '"'))
        if not found and open_quote_agent is not None:
            # The sentence continues a quote opened in an earlier sentence.
            found, speech_type = [open_quote_agent], "direct"
        elif unattributed_quote and previous_quote_agent is not None:
            # '"...," she said. "But if ..."': a new quote right after an attributed one is the same voice.
            found, speech_type = [previous_quote_agent], "direct"
        agents.append(found)
        speech_types.append(speech_type)
        opened, closed = sentence.count("“") + sentence.count('"'), sentence.count("”") + sentence.count('"')
        if open_quote_agent is not None:
            open_quote_agent = None if "”" in sentence or sentence.count('"') % 2 == 1 else open_quote_agent
        elif found and (sentence.count("“") > sentence.count("”") or sentence.count('"') % 2 == 1):
            open_quote_agent = found[0]  # a quote left open continues in the next sentence
        previous_quote_agent = found[0] if found and (opened or closed) else None
    # An unattributed quoted sentence takes the speaker of the next sentence when that one is a quote
    # attributed afterwards ('"..." (sentence) "...," she said.').
    for i in range(len(sentence_texts) - 2, -1, -1):
        current, following = sentence_texts[i], sentence_texts[i + 1]
        if agents[i] or not current.lstrip().startswith(("“", '"')) or not agents[i + 1]:
            continue
        left_open = current.count("“") > current.count("”")
        closes_next = following.count("”") > following.count("“")
        if (_quotes(current) and _quotes(following)) or (left_open and closes_next):
            agents[i], speech_types[i] = agents[i + 1], "direct"
    for i, sentence in enumerate(sentence_texts):
        if agents[i] and sentence.count("”") > sentence.count("“") and speech_types[i] in {"say", "say_by", "say_noun", "credit", "act_by", "act_noun", ""}:
            speech_types[i] = "direct"  # it closes a quote opened in an earlier sentence

    on_target, term_hits = _on_target(sentence_texts, [bool(found) for found in agents], lex)
    claim_rows, voice_rows = [], []
    for i, ((start, end), sentence) in enumerate(zip(spans, sentence_texts)):
        clauses = _clauses(sentence, agents[i])
        quote = " … ".join(_quotes(sentence))
        if not quote and sentence.count("”") > sentence.count("“") and speech_types[i] == "direct":
            quote = sentence[:sentence.index("”")].strip()  # the end of a quote opened earlier
        for agent in agents[i]:
            if not agent.state:
                voice_rows.append((article, i, start, end, agent.actor, agent.non_state_kind or agent.actor_kind,
                                   sentence))
                continue
            kind = agent.speech or speech_types[i] or ("direct" if quote else "indirect")
            if kind in {"say", "credit", "say_by", "say_noun"}:
                kind = "direct" if quote else "indirect"
            elif kind in {"act_by", "act_noun"}:
                kind = "act"
            terms = ";".join(sorted({term.lower() for term_kind, term in term_hits.get(i, [])
                                     if term_kind in {"law", "related"}}))
            for nation in agent.nations:
                claim_rows.append((article, i, start, end, date, nation, agent.actor, agent.actor_kind, kind,
                                   sentence, clauses[id(agent)], quote, on_target[i], terms))
    return claim_rows, voice_rows


def _clauses(sentence: str, agents: list[_Agent]) -> dict[int, str]:
    """Each agent's part of the sentence: from its subject to the next subject or a clause break
    ("; ", ", and has ..."); an inverted '"...," said X' owns the words before it. Stance is read
    from this part, so that "Critics say it curtails freedom - China has said it will return
    stability" gives China only its own words."""
    result = {id(agent): sentence for agent in agents if agent.actor_kind == "signatory" and agent.subject == 0}
    agents = [agent for agent in agents if id(agent) not in result]  # a statement's signers own it all
    ordered = sorted(agents, key=lambda agent: agent.subject)
    # A speaker standing right after a closing quote owns the quote ('"...," the minister told parliament').
    lefts = [0 if agent.inverted or search_tail(_CLOSE_QUOTE_BEFORE, sentence[:agent.subject]) else agent.subject
             for agent in ordered]
    for i, agent in enumerate(ordered):
        right = next((lefts[j] for j in range(i + 1, len(ordered)) if lefts[j] > lefts[i]), len(sentence))
        if agent.inverted:
            right = max(right, agent.subject + len(agent.actor))
        else:
            cut = _frame("clause_end").search(sentence, lefts[i] + len(agent.actor))
            if cut and cut.start() < right:
                right = cut.start()
        result[id(agent)] = sentence[lefts[i]:right].strip() or sentence
    return result


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
    """Who speaks or acts in ``sentence``; returns (agents, speech type of the main verb).

    The first speech verb with a subject decides who speaks. What follows a verb of saying is reported
    content ("announcing that ... if China enforces the law"; "Analysts said the four signatories are
    ..."): a later subject counts only after a clause break ("; ", ", while", ", but").
    """
    phrases = dictionary.phrases(sentence, date)
    anaphora = lex.anaphora(sentence)
    speeches = [speech for speech in lex.speech(sentence) if not _inside_quote(sentence, speech.start)]
    agents: list[_Agent] = []
    speech_type = ""
    context.sentence_agent = None

    _learn_people(sentence, phrases, dictionary, context)

    # Joint statements: signatories listed after "signed by", "on behalf of", or as the subject.
    signatories = _signatories(sentence, phrases, speeches, context)
    if signatories:
        agents.append(_Agent(signatories, "signatories of the statement", "signatory", True, subject=0))
        speech_type = "act"

    reported_from = None  # where the content of a verb of saying starts
    for speech in speeches:
        agent = None
        if reported_from is not None and not _frame("clause_break").search(sentence[reported_from:speech.start]):
            # Reported content. A new clause with its own subject still counts ("Japan called the law
            # regrettable and Taiwan warned ..."), and so does an act whose subject sits right before it
            # ("the legislation China imposed"), unless it is only a condition ("if China enforces").
            agent = _agent_of(sentence, speech, phrases, anaphora, date, dictionary, context)
            if agent is None or not agent.state or agent.inverted:
                continue
            lead = sentence[:agent.subject]
            gap = sentence[agent.subject + len(agent.actor):speech.start]
            new_clause = search_tail(_frame("new_clause_before"), lead) is not None
            direct_act = (speech.kind == "act" and len(gap.split()) <= 1
                          and not search_tail(_frame("condition_before"), lead))
            # "welcomes the passage of the law by the NPCSC", "pressure against China's move to impose"
            explicit_doer = speech.kind in {"act_by", "act_noun"}
            if not (new_clause or direct_act or explicit_doer) or (
                    " that " in sentence[reported_from:agent.subject] and not explicit_doer):
                if speech.kind == "non_act" and agents:
                    speech_type = "non_act"
                continue
        if agent is None:
            agent = _agent_of(sentence, speech, phrases, anaphora, date, dictionary, context)
        if agent is None:
            continue
        context.sentence_agent = agent
        if signatories and agent.actor_kind != "signatory" and not agent.nations[1:] and agent.state \
                and search_tail(_frame("group_noun"), agent.actor):
            continue  # "Pompeo and his counterparts called on ...": the statement's signers, already counted
        if agent.state and agent.nations:
            if signatories and set(agent.nations) <= set(signatories):
                pass  # the statement's signers, already counted
            elif not any(a.nations == agent.nations for a in agents):
                agents.append(agent)
                context.remember(agent)
            speech_type = speech_type if speech_type in {"act", "non_act"} and signatories else speech.kind
        elif not agent.state:
            agents.append(agent)
            if agent.person:
                context.last_person = agent  # an analyst in between breaks a chain of "she said"
        if speech.kind in {"credit", "say"}:
            credited = _credited_agent(sentence, speech, phrases)
            if credited is not None and not any(a.nations == credited.nations for a in agents):
                agents.append(credited)
        if speech.kind in {"say", "credit", "say_by", "act_by"}:
            reported_from = speech.end

    if not agents:
        # A state actor in subject position with no speech verb found: a reported act
        # ("Authorities in Hong Kong made the first arrests under the new law").
        first = next((phrase for phrase in phrases if phrase.actor_kind not in {"demonym", "people"}), None)
        if (first is not None and first.state and first.nation and not _inside_quote(sentence, first.start)
                and _word_index(sentence, first.start) <= _ARTICLE_START):
            agent = replace(_agent_from_phrase(first), subject=first.start)
            agents.append(agent)
            context.remember(agent)
            speech_type = "act"
    if not any(agent.person for agent in agents):
        # Nobody spoke, but a named state person was mentioned: "she said" in the next sentence is likely
        # them ("They did not include the territory's Chief Executive, Carrie Lam. She told ...").
        person = next((phrase for phrase in reversed(phrases) if phrase.person and phrase.state and phrase.nation
                       and not _inside_quote(sentence, phrase.start)), None)
        if person is not None:
            agent = _agent_from_phrase(person)
            context.last_person = agent
            for name in [word for word in person.text.split() if word[:1].isupper() and word.isalpha()][-2:]:
                context.people.setdefault(name, agent)
    return agents, speech_type


def _credited_agent(sentence: str, speech: _Speech, phrases: list[Phrase]) -> _Agent | None:
    """The object of a crediting verb ("praised the U.K. for suspending the treaty") did the act."""
    following = next((phrase for phrase in phrases if speech.end <= phrase.start <= speech.end + 12
                      and re.fullmatch(r"\s*(?:to\s+)?(?:the\s+)?", sentence[speech.end:phrase.start])), None)
    if following is None or not following.nation or following.non_state:
        return None
    if not _frame("credited_act").match(sentence[following.end:]):
        return None
    return _Agent([following.nation], following.text, "metonym" if following.actor_kind == "place"
                  else following.actor_kind, True, speech="act", subject=following.start)


def _word_index(sentence: str, position: int) -> int:
    return len(sentence[:position].split())


def _agent_from_phrase(phrase: Phrase) -> _Agent:
    return _Agent([phrase.nation], phrase.text, phrase.actor_kind, True, phrase.person)


def _agent_of(sentence: str, speech: _Speech, phrases: list[Phrase], anaphora, date: str,
              dictionary: ActorDictionary, context: _Context) -> _Agent | None:
    """The subject of one speech verb: after it in a post-quote attribution or "according to X",
    otherwise the nearest actor before it in the same clause."""
    before = sentence[:speech.start]
    # Inversion: '"...," said X', '..., said X, an analyst', 'according to X'.
    inverted = (bool(search_tail(_CLOSE_QUOTE_BEFORE, before)) or speech.kind in {"say_by", "act_by"}
                or speech.text.lower().startswith("according to")
                or (before.rstrip().endswith(",") and _frame("inverting_verb").match(speech.text) is not None))
    if inverted:
        agent = _candidate_after(sentence, speech.end, phrases, anaphora, date, dictionary, context)
        if agent is not None:
            found = sentence.find(agent.actor, speech.end)
            if speech.kind in {"say_by", "act_by"}:
                # "complaints by X that ...", "the passage of the law by X": X owns the noun and what follows.
                return replace(agent, subject=speech.start, inverted=False)
            return replace(agent, subject=found if found >= 0 else speech.end, inverted=True)
    if context.sentence_agent is not None and search_tail(_frame("coordinated_verb"), before):
        return context.sentence_agent  # "X passed the law ... and adopted a decision": the same subject
    agent = _candidate_before(sentence, speech.start, phrases, anaphora, date, dictionary, context)
    if agent is None:
        return None
    found = sentence.rfind(agent.actor, 0, speech.start)
    return replace(agent, subject=found if found >= 0 else speech.start, inverted=False)


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
        if (phrase.end <= position and not (skip and skip[0] <= phrase.start < skip[1])
                and not _inside_quote(sentence, phrase.start)
                and (not search_tail(_frame("preposition_before"), sentence[:phrase.start])
                     or _POSSESSIVE.fullmatch(sentence[phrase.end:position]))):
            candidates.append((phrase.end, -phrase.start, "phrase", phrase))
    for start, end, refers, text in anaphora:
        if end <= position and not (skip and skip[0] <= start < skip[1]) and not _inside_quote(sentence, start):
            candidates.append((end, -start, "anaphor", (refers, text)))
    if not candidates:
        limit = skip[0] if skip else position
        match = search_tail(_NAME_BEFORE, sentence[:limit])
        if match and limit - match.end() <= 20:
            return _name_agent(match.group(1), "", date, dictionary, context)
        return None
    # The nearest candidate; of two ending at the same place, the longer ("The four foreign ministers"
    # over "foreign ministers").
    end, _, kind, item = max(candidates, key=lambda candidate: (candidate[0], candidate[1]))
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
        listed = _listed_nations(sentence, phrase, phrases) if not after else []
        if listed:
            # "The UK, EU and Nato have expressed concern": the nations in the list speak (Nato is not one).
            start = sentence.find(listed[0].text)
            return _Agent([p.nation for p in listed], sentence[start:phrase.end], "metonym", True)
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
            if search_tail(_frame("preposition_before"), sentence[:previous.start]):
                break  # "In response to the law for Hong Kong, London has announced": not a list
            nations.insert(0, previous.nation)
            actor = sentence[previous.start:phrase.end]
            index -= 1
    nations = list(dict.fromkeys(nations))
    kind = "metonym" if phrase.actor_kind in {"place", "demonym"} else phrase.actor_kind
    if len(nations) > 1 and kind != "metonym":
        kind = phrase.actor_kind
    return _Agent(nations, actor, kind, True, phrase.person and len(nations) == 1)


def _listed_nations(sentence: str, phrase: Phrase, phrases: list[Phrase]) -> list[Phrase]:
    """The nation phrases listed before ``phrase`` ("The UK, EU and" before "Nato")."""
    index = phrases.index(phrase)
    listed: list[Phrase] = []
    while index > 0:
        previous = phrases[index - 1]
        if not _LIST_GAP.match(sentence[previous.end:phrases[index].start]):
            break
        if not previous.nation or previous.non_state or previous.actor_kind in {"people", "demonym"}:
            break
        if search_tail(_frame("preposition_before"), sentence[:previous.start]):
            break
        listed.insert(0, previous)
        index -= 1
    return listed


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
    if not _LEARNED_PERSON_HINT.search(sentence):
        return
    for match in _LEARNED_PERSON.finditer(sentence):
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
    """Nations that sign a joint statement defined in this sentence, remembered for later references
    ("the statement said", "the four foreign ministers said", "they said").

    A statement is joint when the sentence lists its signers ("signed by A, B and C", "on behalf of 27
    countries, among them ..."), when two or more nations are its coordinated subject ("The US, Britain,
    Australia and Canada call on China ... in a statement"), or when it is called joint / "four-nation"
    and names its subject ("Pompeo and his counterparts"). Nations it is addressed to ("call on China")
    are not signers.
    """
    statement = _frame("statement").search(sentence)
    signing = _frame("signing").search(sentence)
    if not statement and not (signing and signing.group().lower() in {"on behalf of", "co-signed by", "signed by"}):
        return []
    if statement is None:
        statement = signing
    first_say = next((speech for speech in speeches if speech.kind == "say"), None)
    if first_say is not None and first_say.start < statement.start() and any(
            phrase.non_state and phrase.end <= first_say.start for phrase in phrases):
        return []  # "Analysts said the joint statement shows ...": a non-state voice describing it
    candidates = [phrase for phrase in phrases if phrase.nation and not phrase.non_state
                  and phrase.actor_kind not in {"people", "demonym"}
                  and not search_tail(_frame("addressee_before"), sentence[:phrase.start])]
    nations: list[str] = []
    if signing:
        # The list right after the marker: its first nation, then those joined by commas and "and".
        listed = [phrase for phrase in candidates if phrase.start >= signing.end()]
        if listed and listed[0].start - signing.end() <= 60:
            run = [listed[0]]
            for phrase in listed[1:]:
                if not _LIST_GAP.match(sentence[run[-1].end:phrase.start]):
                    break
                run.append(phrase)
            nations += [phrase.nation for phrase in run]
    subject = _coordinated_subject(sentence, candidates)
    joint = _frame("joint").search(sentence) is not None
    if len(subject) >= 2 or (subject and signing):
        nations = [phrase.nation for phrase in subject] + nations
    for phrase in candidates:
        if _frame("and_counterparts").match(sentence[phrase.end:]):
            nations.insert(0, phrase.nation)
    nations = list(dict.fromkeys(nations))
    if not nations or not (signing or joint or len(subject) >= 2):
        return []
    # A new statement ("a separate joint statement on behalf of 27 countries") replaces the group
    # remembered for "the statement said"; a further reference to the same one adds its signers.
    new_statement = _frame("new_statement").search(sentence) is not None and not set(nations) & set(context.signatories)
    context.signatories = list(dict.fromkeys((nations if new_statement else context.signatories + nations)))
    context.last_group = _Agent(list(context.signatories), "the signatories", "signatory", True)
    return list(context.signatories)


def _coordinated_subject(sentence: str, candidates: list[Phrase]) -> list[Phrase]:
    """The list of nation phrases a sentence opens with ("The US, Britain, Australia and Canada ...")."""
    if not candidates or _word_index(sentence, candidates[0].start) > _ARTICLE_START + 4:
        return []
    if _inside_quote(sentence, candidates[0].start):
        return []
    subject = [candidates[0]]
    for phrase in candidates[1:]:
        if not _LIST_GAP.match(sentence[subject[-1].end:phrase.start]):
            break
        subject.append(phrase)
    return subject


def _on_target(sentences: list[str], needed: list[bool], lex: Lexicon) -> tuple[list[bool], dict[int, list]]:
    """Which sentences are on target, for the sentences that need it (those with claims).

    A sentence is on target when it names the policy or a related issue (``target.csv``). In an article
    about the policy (two or more sentences name it), a sentence that names nothing off-topic is on
    target too ("we deplore this decision", "did not join the statement"); so is one next to a sentence
    that names it. A sentence naming only an off-topic subject (Huawei, the pandemic) never is.
    Target terms are looked up lazily: for the claim sentences, their neighbours, and until two
    sentences naming the policy are found. Returns (flags, {sentence index: [(kind, term)]}).
    """
    hits: dict[int, list] = {}

    def terms(i: int) -> list:
        if i not in hits:
            hits[i] = lex.targets(sentences[i])
        return hits[i]

    def direct(i: int) -> bool:
        return 0 <= i < len(sentences) and any(kind in {"law", "related"} for kind, _ in terms(i))

    about_policy, count = False, 0
    for i in range(len(sentences)):
        if direct(i):
            count += 1
            if count >= 2:
                about_policy = True
                break
    result = [False] * len(sentences)
    for i, need in enumerate(needed):
        if not need:
            continue
        if direct(i):
            result[i] = True
        elif any(kind == "off" for kind, _ in terms(i)):
            result[i] = False
        else:
            result[i] = about_policy or direct(i - 1) or direct(i + 1)
    return result, hits


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
