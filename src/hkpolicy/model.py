"""A trained stance classifier (scikit-learn), saved as readable JSON, and its evaluation.

Training data: hand-labelled claims (``data/annotations/claims_gold.csv``, guide in
``docs/annotation_guide.md``): one row per (sentence, nation) with ``stance`` in oppose / support /
neutral / none. Features (``claim_features``):
    text        the sentence: word 1-2-grams, TF-IDF (sublinear)
    cue_*       the rule cues: summed support / oppose / neutral weights after object and negation
                checks, how many cues flipped, the rules' signed score
    target_*    whether the policy (law) or its critics' moves (sanctions, interference) are named
    speech      direct / indirect / act / non_act (one-hot)
The classifier is a multinomial logistic regression (class-balanced) in a ``Pipeline``. It is evaluated
with cross-validation grouped by article (no article in both train and test folds) against the rules
alone and rules+model (rules where a cue fires, the model elsewhere); ``train_and_save`` writes the
coefficients, vocabulary and IDF weights as JSON (``data/stance_model.json``) with the evaluation and
the chosen default method. Loading never unpickles anything.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .stance import StanceRules, combine_cues, stance_rules

CLASSES = ["neutral", "none", "oppose", "support"]
SPEECH_TYPES = ["act", "direct", "indirect", "non_act"]
NUMERIC_FEATURES = ["cue_support", "cue_oppose", "cue_neutral", "cue_flipped", "rule_score", "target_law",
                    "target_critic"]
MODEL_FILE = "stance_model.json"


def claim_features(claims: pd.DataFrame, rules: StanceRules | None = None) -> pd.DataFrame:
    """Model inputs for each claim: ``text``, ``speech`` and the numeric cue/target features."""
    rules = rules or stance_rules()
    rows = []
    for text, speech in zip(claims["text"], claims["speech"]):
        cues = rules.cues(text)
        targets = [rules.target_kind[int(m.lastgroup[1:])] for m in rules.target_regex.finditer(text)]
        _, rule_score, _ = combine_cues(cues)
        rows.append({
            "text": text, "speech": speech if speech in SPEECH_TYPES else "indirect",
            "cue_support": sum(c.weight for c in cues if c.stance == "support"),
            "cue_oppose": sum(c.weight for c in cues if c.stance == "oppose"),
            "cue_neutral": sum(c.weight for c in cues if c.stance == "neutral") + (1.0 if speech == "non_act" else 0.0),
            "cue_flipped": float(sum(1 for c in cues if c.reason)),
            "rule_score": rule_score,
            "target_law": float("law" in targets), "target_critic": float("critic" in targets),
        })
    return pd.DataFrame(rows, columns=["text", "speech"] + NUMERIC_FEATURES)


def build_pipeline(C: float = 2.0):
    """The untrained scikit-learn Pipeline: TF-IDF text + one-hot speech + scaled cue features -> LR."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = ColumnTransformer([
        ("text", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True), "text"),
        ("speech", OneHotEncoder(categories=[SPEECH_TYPES], handle_unknown="ignore"), ["speech"]),
        ("cues", StandardScaler(), NUMERIC_FEATURES),
    ])
    classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    return Pipeline([("features", features), ("classifier", classifier)])


def rules_predict(claims: pd.DataFrame, rules: StanceRules) -> list[str]:
    """The rules' labels for claims (none when no cue fires)."""
    labels = []
    for text, speech in zip(claims["text"], claims["speech"]):
        stance, _, _ = rules.score(text, speech)
        labels.append(stance or "none")
    return labels


def cross_validate(annotations: pd.DataFrame, folds: int = 5, rules: StanceRules | None = None,
                   C: float = 2.0) -> pd.DataFrame:
    """Grouped-by-article cross-validation of rules, model and rules+model on the labelled claims.

    Returns one row per method: accuracy, macro_f1 (over oppose/support/neutral), n.
    """
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import GroupKFold

    rules = rules or stance_rules()
    data = annotations.reset_index(drop=True)
    features = claim_features(data, rules)
    gold = data["stance"].replace("", "none").to_numpy()
    rule_labels = np.array(rules_predict(data, rules))
    model_labels = np.empty(len(data), dtype=object)
    splitter = GroupKFold(n_splits=min(folds, data["article"].nunique()))
    for train, test in splitter.split(features, gold, groups=data["article"]):
        pipeline = build_pipeline(C).fit(features.iloc[train], gold[train])
        model_labels[test] = pipeline.predict(features.iloc[test])
    combined = np.where(rule_labels != "none", rule_labels, model_labels)
    rows = []
    for method, predicted in (("rules", rule_labels), ("model", model_labels), ("rules+model", combined)):
        rows.append({"method": method, "n": len(gold), "accuracy": round(accuracy_score(gold, predicted), 4),
                     "macro_f1": round(f1_score(gold, predicted, labels=["oppose", "support", "neutral"],
                                                average="macro", zero_division=0), 4)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Saving as data, loading without pickle
# ----------------------------------------------------------------------------------------------


def pipeline_to_json(pipeline, metadata: dict) -> dict:
    """The fitted pipeline's parameters as plain JSON-able data."""
    features, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
    tfidf = features.named_transformers_["text"]
    scaler = features.named_transformers_["cues"]
    vocabulary = sorted(tfidf.vocabulary_.items(), key=lambda item: item[1])
    return {
        "format": "hkpolicy-linear-stance-model/1",
        "classes": [str(label) for label in classifier.classes_],
        "vocabulary": [term for term, _ in vocabulary],
        "idf": [round(float(value), 6) for value in tfidf.idf_],
        "ngram_range": list(tfidf.ngram_range),
        "speech_types": SPEECH_TYPES,
        "numeric_features": NUMERIC_FEATURES,
        "scaler_mean": [round(float(value), 6) for value in scaler.mean_],
        "scaler_scale": [round(float(value), 6) for value in scaler.scale_],
        "coef": [[round(float(value), 6) for value in row] for row in classifier.coef_],
        "intercept": [round(float(value), 6) for value in classifier.intercept_],
        **metadata,
    }


class LinearStanceModel:
    """Prediction from the JSON parameters: TF-IDF with the stored vocabulary and IDF, then a linear
    layer and softmax, exactly as the fitted Pipeline computes it."""

    def __init__(self, params: dict):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.params = params
        self.classes = params["classes"]
        self.vectorizer = TfidfVectorizer(ngram_range=tuple(params["ngram_range"]), sublinear_tf=True,
                                          lowercase=True, vocabulary=params["vocabulary"])
        self.vectorizer.idf_ = np.array(params["idf"])
        self.coef = np.array(params["coef"])
        self.intercept = np.array(params["intercept"])
        self.mean = np.array(params["scaler_mean"])
        self.scale = np.array(params["scaler_scale"])

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        text = self.vectorizer.transform(features["text"])
        speech = np.array([[float(value == kind) for kind in self.params["speech_types"]] for value in features["speech"]])
        numeric = (features[self.params["numeric_features"]].to_numpy(dtype=float) - self.mean) / self.scale
        logits = text @ self.coef[:, :text.shape[1]].T
        logits = logits + speech @ self.coef[:, text.shape[1]:text.shape[1] + speech.shape[1]].T
        logits = logits + numeric @ self.coef[:, text.shape[1] + speech.shape[1]:].T + self.intercept
        logits = np.asarray(logits)
        if logits.ndim == 1 or logits.shape[1] == 1:
            raise ValueError("the model needs at least three classes")
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, features: pd.DataFrame) -> list[str]:
        return [self.classes[i] for i in self.predict_proba(features).argmax(axis=1)]

    def predict_with_score(self, claims: pd.DataFrame, rules: StanceRules | None = None) -> tuple[list[str], list[float]]:
        """Labels and signed scores (P(support) - P(oppose)) for claims."""
        features = claim_features(claims, rules)
        probability = self.predict_proba(features)
        index = {label: i for i, label in enumerate(self.classes)}
        labels = [self.classes[i] for i in probability.argmax(axis=1)]
        signed = probability[:, index["support"]] - probability[:, index["oppose"]]
        return labels, signed.tolist()


@lru_cache(maxsize=1)
def _packaged_params() -> dict:
    path = resources.files("hkpolicy.data").joinpath(MODEL_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"no trained model at hkpolicy/data/{MODEL_FILE}; run `hkpolicy train`")
    return json.loads(path.read_text(encoding="utf-8"))


def load_model(path: str | Path | None = None) -> LinearStanceModel:
    """The packaged model (cached), or one saved at ``path``, read from JSON."""
    if path:
        return LinearStanceModel(json.loads(Path(path).read_text(encoding="utf-8")))
    return _packaged_model()


@lru_cache(maxsize=1)
def _packaged_model() -> LinearStanceModel:
    return LinearStanceModel(_packaged_params())


def model_metadata() -> dict:
    """The evaluation and default method stored beside the packaged model's coefficients."""
    params = _packaged_params()
    return {key: params[key] for key in ("default_method", "cross_validation", "trained_on") if key in params}


def load_annotations(path: str | Path) -> pd.DataFrame:
    """Labelled claims: needs ``article``, ``sentence``, ``stance``, ``speech``; keeps rows with a nation
    and on-target or explicitly labelled none. Returns columns article, text, speech, stance, nation."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table = table[table["nation"] != ""]
    table = table.assign(text=table["sentence"], stance=table["stance"].replace("", "none"))
    off = table["on_target"].isin(["0", "False", "false"])
    table.loc[off, "stance"] = "none"
    return table[["article", "text", "speech", "stance", "nation"]].reset_index(drop=True)


def train_and_save(annotations_path: str | Path, out_path: str | Path, C: float = 2.0, folds: int = 5) -> dict:
    """Cross-validate, fit on all labelled claims, pick the default method, write the JSON model."""
    annotations = load_annotations(annotations_path)
    rules = stance_rules()
    evaluation = cross_validate(annotations, folds=folds, rules=rules, C=C)
    best = evaluation.sort_values(["macro_f1", "accuracy"], ascending=False, kind="stable").iloc[0]["method"]
    pipeline = build_pipeline(C).fit(claim_features(annotations, rules), annotations["stance"])
    params = pipeline_to_json(pipeline, {
        "default_method": str(best),
        "cross_validation": evaluation.to_dict(orient="records"),
        "trained_on": {"file": Path(annotations_path).name, "n_claims": int(len(annotations)),
                       "n_articles": int(annotations["article"].nunique()),
                       "labels": {k: int(v) for k, v in annotations["stance"].value_counts().sort_index().items()}},
        "C": C,
    })
    Path(out_path).write_text(json.dumps(params, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _packaged_params.cache_clear()
    _packaged_model.cache_clear()
    return params


def compare_methods(articles: pd.DataFrame, annotations: pd.DataFrame, gold: pd.DataFrame,
                    folds: int = 5, C: float = 2.0) -> pd.DataFrame:
    """Article-level comparison of the scorers against gold labels, without testing on training data.

    Claims are extracted once; the model is cross-validated by article: for each fold of articles it
    is fitted on the labelled claims of the other articles only, then scores the fold's claims.
    Returns one row per method (rules, model, rules+model, naive VADER): pairs, accuracy, macro_f1.
    """
    from sklearn.model_selection import GroupKFold

    from .claims import extract_claims
    from .evaluate import compare, naive_vader_by_article, scores
    from .stance import score_stance
    from .tables import by_article

    rules = stance_rules()
    claims = extract_claims(articles)
    scored = {"rules": score_stance(claims, method="rules", rules=rules)}
    ids = articles["article"].to_numpy()
    parts: dict[str, list[pd.DataFrame]] = {"model": [], "rules+model": []}
    splitter = GroupKFold(n_splits=min(folds, len(ids)))
    for _, test in splitter.split(ids, groups=ids):
        held_out = set(ids[test])
        train = annotations[~annotations["article"].isin(held_out)]
        pipeline = build_pipeline(C).fit(claim_features(train, rules), train["stance"])
        model = LinearStanceModel(pipeline_to_json(pipeline, {}))
        fold_claims = claims[claims["article"].isin(held_out)]
        for method in parts:
            parts[method].append(score_stance(fold_claims, method=method, rules=rules, model=model))
    for method, frames in parts.items():
        scored[method] = pd.concat(frames, ignore_index=True)
    rows = []
    for method, frame in scored.items():
        result = scores(compare(by_article(frame), gold))
        rows.append({"method": method, "pairs": result["n"], "accuracy": round(result["accuracy"], 4),
                     "macro_f1": round(result["macro_f1"], 4)})
    naive = scores(compare(naive_vader_by_article(articles), gold))
    rows.append({"method": "naive VADER", "pairs": naive["n"], "accuracy": round(naive["accuracy"], 4),
                 "macro_f1": round(naive["macro_f1"], 4)})
    return pd.DataFrame(rows)
