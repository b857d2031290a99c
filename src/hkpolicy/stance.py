"""Stance toward the policy, per claim: rules from cue lexicons, a trained model, and VADER tone beside.

``score_stance(claims)`` adds to every claim (``STANCE_COLUMNS``):
    stance   oppose / support / neutral, or "" when the claim takes no position or is off target
             (those never vote in the tables)
    score    signed, in [-1, 1]: negative = against the policy, positive = for it, 0 = neutral/none
    cues     what decided it: the cue phrases that fired, each with its direction and why it flipped
             ("firmly opposes [oppose->support: object 'sanctions' is a critic's move]")
    tone     VADER compound of the sentence: reported beside the stance, never used as it
    method   rules / model / rules+model: which scorer produced the stance

Sentiment is not stance: the rules read *what* is opposed or defended. A cue of kind ``object``
("opposes", "condemns", "rejects", "welcomes") points at the policy unless what follows it is a move
by the policy's critics (``target.csv`` kind ``critic``: sanctions, interference, criticism ...), in
which case its direction flips. Negation (not/no/never/n't just before a cue) flips it too. Fixed
idioms ("internal affairs", "no impact on autonomy", "did not join") carry their own direction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from .resources import compile_alternation, load_table

STANCE_COLUMNS = ["stance", "score", "cues", "tone", "method"]
DIRECTION = {"oppose": -1.0, "support": 1.0, "neutral": 0.0}
NEGATORS = re.compile(r"\b(?:not|no|never|neither|nor|without|hardly)\b|n[’']t\b", re.IGNORECASE)
OBJECT_WINDOW = 60   # characters after an object-taking cue where its object is looked for
NEGATION_WINDOW = 3  # words before a cue where a negator flips it
ABSTENTION_SCOPE = 60  # characters after an abstention ("declined to comment on ...") that it covers


@dataclass
class Cue:
    start: int
    end: int
    text: str
    stance: str
    weight: float
    reason: str = ""

    @property
    def direction(self) -> float:
        return DIRECTION[self.stance]


class StanceRules:
    """The cue lexicon (``stance_cues.csv``) and the critic/policy terms (``target.csv``), compiled once."""

    def __init__(self, extra: dict[str, object] | None = None):
        extra = extra or {}
        cues = load_table("stance_cues", extra.get("stance_cues"), key=["pattern"])
        self.cue_stance = cues["stance"].tolist()
        self.cue_kind = cues["kind"].tolist()
        self.cue_weight = [float(weight or 1) for weight in cues["weight"]]
        self.cue_regex = compile_alternation(cues["pattern"], flags=re.IGNORECASE)
        target = load_table("target", extra.get("target"), key=["pattern"])
        self.target_kind = target["kind"].tolist()
        self.target_regex = compile_alternation(target["pattern"], flags=re.IGNORECASE)

    def cues(self, sentence: str) -> list[Cue]:
        """Every cue in ``sentence`` with its final direction (after object and negation checks)."""
        return list(self._cues(sentence))

    @lru_cache(maxsize=8192)
    def _cues(self, sentence: str) -> tuple[Cue, ...]:
        # Cached: the rules and the model's features read the same sentences.
        found = []
        for match in self.cue_regex.finditer(sentence):
            index = int(match.lastgroup[1:])
            stance, kind, weight = self.cue_stance[index], self.cue_kind[index], self.cue_weight[index]
            reasons = []
            if kind == "object" and stance != "neutral":
                obj = self._object_of(sentence, match.end())
                if obj and obj[0] == "critic":
                    stance = _flip(stance)
                    reasons.append(f"object '{obj[1]}' is a critic's move")
            if stance != "neutral" and _negated(sentence, match.start()):
                stance = _flip(stance)
                reasons.append("negated")
            found.append(Cue(match.start(), match.end(), match.group(), stance, weight, "; ".join(reasons)))
        return tuple(found)

    def _object_of(self, sentence: str, position: int) -> tuple[str, str] | None:
        """The first policy or critic term after ``position`` (within the window), if any."""
        window = sentence[position:position + OBJECT_WINDOW]
        for match in self.target_regex.finditer(window):
            kind = self.target_kind[int(match.lastgroup[1:])]
            if kind in {"critic", "law"}:
                return kind, match.group()
        return None

    def score(self, sentence: str, speech: str = "") -> tuple[str, float, str]:
        """(stance, score, cues) of one sentence by the rules alone."""
        cues = self.cues(sentence)
        # An explicit abstention covers what it abstains on: "not for us to comment on the internal
        # affairs of another country" is neutral, not support.
        abstentions = [cue for cue in cues if cue.stance == "neutral"]
        cues = [cue for cue in cues if cue.stance == "neutral" or not any(
            a.start <= cue.start <= a.end + ABSTENTION_SCOPE for a in abstentions)]
        if speech == "non_act" and not any(cue.stance == "neutral" for cue in cues):
            cues.append(Cue(0, 0, "(explicit non-act)", "neutral", 1.0))
        return combine_cues(cues)


def combine_cues(cues: list[Cue]) -> tuple[str, float, str]:
    """Weighted vote of the cues: polar cues decide the sign; neutral cues alone make it neutral."""
    if not cues:
        return "", 0.0, ""
    polar = sum(cue.direction * cue.weight for cue in cues)
    total = sum(cue.weight for cue in cues)
    described = "; ".join(
        f"{cue.text} [{cue.stance}{': ' + cue.reason if cue.reason else ''}]" for cue in cues)
    if polar > 0:
        return "support", round(polar / total, 4), described
    if polar < 0:
        return "oppose", round(polar / total, 4), described
    if any(cue.stance == "neutral" for cue in cues):
        return "neutral", 0.0, described
    return "", 0.0, described  # opposite cues cancel out: no position can be read


def _flip(stance: str) -> str:
    return {"oppose": "support", "support": "oppose"}.get(stance, stance)


def _negated(sentence: str, position: int) -> bool:
    words = sentence[:position].split()[-NEGATION_WINDOW:]
    return bool(NEGATORS.search(" ".join(words)))


@lru_cache(maxsize=2)
def _default_rules() -> StanceRules:
    return StanceRules()


def stance_rules(extra: dict[str, object] | None = None) -> StanceRules:
    """The packaged cue rules (cached), or rules extended with a researcher's tables."""
    return _default_rules() if not extra else StanceRules(extra)


# ----------------------------------------------------------------------------------------------
# Tone (VADER), offline
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def vader_analyzer():
    """nltk's VADER analyser as it ships, on the lexicon inside the ``vaderSentiment`` package (nltk's own
    ``__init__`` would fetch the lexicon from nltk_data: no download here). The naive baseline uses it."""
    from nltk.sentiment.vader import SentimentIntensityAnalyzer

    return _offline(SentimentIntensityAnalyzer)()


def _offline(analyzer_class):
    """``analyzer_class`` (nltk's VADER or a subclass) made to load the lexicon from ``vaderSentiment``."""
    from nltk.sentiment.vader import VaderConstants

    class OfflineVader(analyzer_class):
        def __init__(self):
            self.lexicon_file = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(
                encoding="utf-8").strip()
            self.lexicon = self.make_lex_dict()
            self.constants = VaderConstants()

    return OfflineVader


@lru_cache(maxsize=1)
def tone_analyzer():
    """The VADER analyser the pipeline uses: nltk's, with the same scores (tested), but splitting words
    from their punctuation directly instead of building every word x punctuation combination per
    sentence, which was most of nltk's time."""
    import string

    from nltk.sentiment import vader

    punctuation = string.punctuation
    # nltk removes punctuation with a timeout-guarded regex (``nltk.redos``) of this character class;
    # deleting the same characters with str.translate gives the same text at a fraction of the cost.
    without_punctuation = str.maketrans("", "", punctuation)

    class QuickSentiText(vader.SentiText):
        def _words_and_emoticons(self):
            # nltk maps "w<p>" and "<p>w" to w for every p in PUNC_LIST and every punctuation-free word w
            # of the sentence (2+ characters); a token splits into such w and p in at most one way.
            words = None
            marks = set(self.PUNC_LIST)
            result = []
            for token in self.text.split():
                if len(token) < 2:
                    continue
                if token[0] not in punctuation and token[-1] not in punctuation:
                    result.append(token)  # nothing to strip (most tokens)
                    continue
                if words is None:
                    words = {w for w in self.text.translate(without_punctuation).split() if len(w) > 1}
                core = token.rstrip(punctuation)
                if core in words and token[len(core):] in marks:
                    token = core
                else:
                    core = token.lstrip(punctuation)
                    if core in words and token[:len(token) - len(core)] in marks:
                        token = core
                result.append(token)
            return result

    class QuickVader(vader.SentimentIntensityAnalyzer):
        def polarity_scores(self, text):
            # nltk's polarity_scores builds the module's SentiText; the same steps with QuickSentiText
            # (adapted from nltk 3.10, Apache-2.0).
            sentitext = QuickSentiText(text, self.constants.PUNC_LIST, self.constants.REGEX_REMOVE_PUNCTUATION)
            sentiments = []
            words_and_emoticons = sentitext.words_and_emoticons
            first_index: dict[str, int] = {}
            for position, token in enumerate(words_and_emoticons):
                first_index.setdefault(token, position)
            lexicon, boosters = self.lexicon, self.constants.BOOSTER_DICT
            for item in words_and_emoticons:
                lower = item.lower()
                if lower not in lexicon:  # nltk's sentiment_valence gives such a word 0 too
                    sentiments.append(0)
                    continue
                i = first_index[item]
                if (i < len(words_and_emoticons) - 1 and lower == "kind"
                        and words_and_emoticons[i + 1].lower() == "of") or lower in boosters:
                    sentiments.append(0)
                    continue
                sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
            sentiments = self._but_check(words_and_emoticons, sentiments)
            return self.score_valence(sentiments, text)

    return _offline(QuickVader)()


def tone(sentences) -> list[float]:
    """VADER compound score of each sentence, in [-1, 1]."""
    analyzer = tone_analyzer()
    scores: dict[str, float] = {}  # a sentence shared by several nations' claims is scored once
    result = []
    for sentence in sentences:
        if sentence not in scores:
            scores[sentence] = round(analyzer.polarity_scores(sentence)["compound"], 4)
        result.append(scores[sentence])
    return result


# ----------------------------------------------------------------------------------------------
# Scoring claims
# ----------------------------------------------------------------------------------------------


def score_stance(claims: pd.DataFrame, method: str = "default", rules: StanceRules | None = None,
                 model=None) -> pd.DataFrame:
    """Add ``STANCE_COLUMNS`` to ``claims`` (``claims.extract_claims`` output); returns a new frame.

    ``method``: "rules" (cue rules only), "model" (the trained classifier), "rules+model" (rules where a
    cue fires, the model elsewhere), or "default" (the best of those by the evaluation: see
    ``data/model_card.md``). Off-target claims get stance "" and never vote.
    """
    rules = rules or stance_rules()
    result = claims.copy()
    if method == "default":
        method = default_method()
    texts = result["clause"] if "clause" in result else result["text"]
    rule_out = [rules.score(text, speech) for text, speech in zip(texts, result["speech"])]
    stances = [stance for stance, _, _ in rule_out]
    scores = [score for _, score, _ in rule_out]
    cues = [cue for _, _, cue in rule_out]
    methods = ["rules"] * len(result)
    if method in {"model", "rules+model"} and len(result):
        from .model import load_model

        model = model or load_model()
        on_target_rows = result["on_target"].astype(bool).to_numpy()
        # The model reads only the on-target claims it decides: all of them, or (rules+model) those
        # where no cue fired.
        rows = [i for i in range(len(result)) if on_target_rows[i] and (method == "model" or not stances[i])]
        if rows:
            predicted, probability = model.predict_with_score(result.iloc[rows], rules)
        else:
            predicted, probability = [], []
        for i, label, signed in zip(rows, predicted, probability):
            stances[i] = "" if label == "none" else label
            scores[i] = round(float(signed), 4) if stances[i] else 0.0
            cues[i] = (cues[i] + "; " if cues[i] else "") + f"model: {label} ({abs(signed):.2f})"
            methods[i] = "model" if method == "model" else "rules+model"
    on_target = result["on_target"].astype(bool).to_numpy()
    result["stance"] = np.where(on_target, stances, "")
    result["score"] = np.where(on_target, scores, 0.0).astype(float)
    result["cues"] = cues
    result["tone"] = tone(result["text"].tolist())
    result["method"] = methods
    return result


def default_method() -> str:
    """The scorer the evaluation found best (recorded in ``data/stance_model.json``), else "rules"."""
    try:
        from .model import model_metadata

        return model_metadata().get("default_method", "rules")
    except FileNotFoundError:
        return "rules"


def tone_disagreements(claims: pd.DataFrame, margin: float = 0.05) -> pd.DataFrame:
    """Claims with a stance whose VADER tone points the other way: negative tone but support for the
    policy, or positive tone but opposition. Sorted by how far apart the two are."""
    polar = claims[claims["stance"].isin(["oppose", "support"])]
    disagree = polar[((polar["stance"] == "support") & (polar["tone"] < -margin))
                     | ((polar["stance"] == "oppose") & (polar["tone"] > margin))]
    gap = (disagree["score"] - disagree["tone"]).abs()
    return disagree.assign(gap=gap).sort_values(["gap", "article", "sentence_id"], ascending=[False, True, True],
                                                kind="stable").drop(columns="gap")
