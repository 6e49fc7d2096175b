"""The motion latent-diffusion pipeline: sampling with multi-condition guidance, any length by windows, streaming.

A pipeline folder (save_pretrained / from_pretrained) holds face_vae/, body_vae/ and denoiser/ (each a config.json
+ diffusion_pytorch_model.safetensors, generators/learned/modeling.py), scheduler/ (the DDPM training schedule,
generators/learned/schedule.py) and config.json (the sampling settings). Nothing in it is a pickle. The layout is
diffusers', but diffusers is not imported: it would add about 2.4 s to every process that renders.

Guidance (content and in-painting context are always given; all passes run as one batch):
    v = v(-, -) + s_s * (v(-, s) - v(-, -)) + s_e * (v(e, s) - v(-, s))
with `-` the learned null embedding: style first, then the emotion given the style. Without a style only the
emotion term exists. Passes whose weight is zero are skipped, so the default s_s = 1 needs two passes (v(-, s) and
v(e, s)) and s_e = s_s = 1 one. The weights sum to one, so combining v-predictions is the same as combining
epsilon- or x0-predictions. Default sampler: DPM-Solver++ (2nd order), 10 steps.

Any length: the latent sequence is covered by windows of `window_tokens` (32 tokens = 128 frames) that overlap by
`overlap_tokens` (8). All windows are denoised together, as one batch per step, with their predictions averaged
where they overlap (`denoise_windows`); the whole latent is then decoded at once, so the VAE adds no seams either.

The body leaves the decoder averaged over one token (`token_average`, causal): a causal decoder steps at token
boundaries, and the average cancels that 7.5-Hz ripple exactly.

Streaming: `stream` adds `hop_tokens` (3 = 12 frames = 0.4 s) at a time to a rolling window whose first tokens are
the last `context_tokens` (8) already generated: the model sees them as clean context and, at every step, they are
replaced by the known latent noised to that step (RePaint-style), so the window continues the motion. The VAE
decoders are causal, so each new token's frames are final as soon as it exists and are emitted at once (decoded
with 10 tokens of left context, they equal one full decode; the content's viseme features look 100 ms ahead, so a
live front end must have aligned that far). Latency: a frame leaves at most one hop (12 frames, 0.4 s) after its
audio arrives, plus the compute of one window (about 0.1 s on one core with the default sizes and 10 DPM-Solver
steps).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from generators.learned.denoiser import MotionDenoiser
from generators.learned.representation import BODY_DIM, CONTENT_DIM, EMOTION_DIM, FACE_DIM, FPS, STYLE_DIM
from generators.learned.schedule import DDIMSampler, DPMSolverSampler, NoiseSchedule, make_sampler
from generators.learned.vae import DOWNSAMPLE, MotionVAE
from rigs.clock import sliding_spans

# Left decoder context for streamed frames, in tokens: the causal decoder's receptive field reaches 10 tokens back
# (so streamed frames equal those of one full decode); the non-causal one about 5 each way.
_DECODE_MARGIN = 10


def training_scheduler() -> NoiseSchedule:
    """The DDPM noise schedule the denoiser is trained with (cosine, v-prediction; samplers use trailing spacing)."""
    return NoiseSchedule(num_train_timesteps=1000)


def _frames(name: str, value, dim: int, n_frames: int | None = None) -> np.ndarray:
    """Validate a (T, dim) array (or a (dim,) vector, repeated to n_frames) and return it as float32."""
    array = np.asarray(value, dtype=np.float32)
    if array.ndim == 1 and n_frames is not None and array.shape[0] == dim:
        array = np.repeat(array[None], n_frames, axis=0)
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"{name}: expected an array of shape (T, {dim}), got {array.shape}; "
                         f"build it with generators.learned.representation")
    if n_frames is not None and len(array) != n_frames:
        raise ValueError(f"{name}: has {len(array)} frames but content has {n_frames}; give both on one clock")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or infinite values; clean the input features")
    return array


def _style(style) -> torch.Tensor | None:
    """A validated (1, 6) style tensor, or None when the style is unknown."""
    if style is None:
        return None
    array = np.asarray(style, np.float32).reshape(-1)
    if array.shape != (STYLE_DIM,) or not np.isfinite(array).all():
        raise ValueError(f"style: expected {STYLE_DIM} finite numbers (Style.vector()), got shape {array.shape}")
    return torch.from_numpy(array)[None]


def token_average(frames: torch.Tensor) -> torch.Tensor:
    """Each frame (B, T, D) averaged with the DOWNSAMPLE - 1 frames before it (the first frame repeated before the
    start).

    A causal decoder cannot see the next latent token, so it steps at token boundaries: the body's decoded arm speed
    rose and fell with a frame's place in its token (28-44 cm/s; 7.5 Hz tremor). Averaging over exactly one token
    cancels anything that repeats every token and keeps slower motion (a 2-Hz beat loses 11 % of its amplitude);
    being causal, streamed frames stay final as soon as they are decoded."""
    padded = torch.cat([frames[:, :1].expand(-1, DOWNSAMPLE - 1, -1), frames], dim=1)
    return padded.unfold(1, DOWNSAMPLE, 1).mean(dim=-1)


def _pad_to_tokens(array: np.ndarray, n_tokens: int) -> np.ndarray:
    """Repeat the last frame so the array has 4 * n_tokens frames."""
    missing = DOWNSAMPLE * n_tokens - len(array)
    return np.concatenate([array, np.repeat(array[-1:], missing, axis=0)]) if missing > 0 else array


class _Rolling:
    """A stream's recent past: frame features and latent tokens from absolute token `base` on; older ones are
    dropped, so a stream of any length runs in constant memory and time per hop."""

    def __init__(self, latent_dim: int):
        self.base = 0
        self.content = np.zeros((0, CONTENT_DIM), np.float32)
        self.emotion = np.zeros((0, EMOTION_DIM), np.float32)
        self.latent = torch.zeros(1, 0, latent_dim)

    @property
    def received(self) -> int:
        """Frames received so far."""
        return DOWNSAMPLE * self.base + len(self.content)

    @property
    def tokens(self) -> int:
        """Latent tokens generated so far."""
        return self.base + self.latent.shape[1]

    def add(self, content: np.ndarray, emotion: np.ndarray) -> None:
        """Append frames of features."""
        self.content = np.concatenate([self.content, content])
        self.emotion = np.concatenate([self.emotion, emotion])

    def pad_to(self, n_tokens: int) -> None:
        """Repeat the last frame up to n_tokens tokens' worth of frames."""
        self.content = _pad_to_tokens(self.content, n_tokens - self.base)
        self.emotion = _pad_to_tokens(self.emotion, n_tokens - self.base)

    def features(self, start: int, end: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Content and emotion (1, 4 (end - start), .) of tokens start..end (absolute)."""
        frames = slice(DOWNSAMPLE * (start - self.base), DOWNSAMPLE * (end - self.base))
        return torch.from_numpy(self.content[frames])[None], torch.from_numpy(self.emotion[frames])[None]

    def latent_from(self, start: int) -> torch.Tensor:
        """Generated tokens from absolute token `start` on."""
        return self.latent[:, start - self.base:]

    def trim(self, keep_from: int) -> None:
        """Forget tokens (and their frames) before absolute token keep_from."""
        drop = keep_from - self.base
        if drop > 0:
            self.latent = self.latent[:, drop:]
            self.content, self.emotion = self.content[DOWNSAMPLE * drop:], self.emotion[DOWNSAMPLE * drop:]
            self.base = keep_from


class MotionDiffusionPipeline:
    """Face and body motion from content, emotion and style features by guided latent diffusion."""

    fps = FPS  # the frame clock of the motion representation it learned (its config's fps, checked on load)

    def __init__(self, face_vae: MotionVAE, body_vae: MotionVAE, denoiser: MotionDenoiser,
                 scheduler: NoiseSchedule | None = None, window_tokens: int = 32, overlap_tokens: int = 8,
                 emotion_scale: float = 1.0, style_scale: float = 1.0, body_token_average: bool = True):
        latent = face_vae.config.latent_dim + body_vae.config.latent_dim
        if denoiser.config.latent_dim != latent:
            raise ValueError(f"denoiser latent_dim {denoiser.config.latent_dim} != face + body latent dims {latent}")
        widths = {denoiser.config.content_dim, *(v.config.condition_dim for v in (face_vae, body_vae))} - {0}
        if widths != {CONTENT_DIM}:
            raise ValueError(f"this model reads content features of width {sorted(widths)}, the representation makes "
                             f"{CONTENT_DIM}: it was trained for another content representation; retrain it with "
                             "`avatar train motion`")
        if not 0 <= overlap_tokens < window_tokens:
            raise ValueError(f"overlap_tokens must be in [0, window_tokens), got {overlap_tokens}")
        self.face_vae, self.body_vae, self.denoiser = face_vae.eval(), body_vae.eval(), denoiser.eval()
        self.scheduler = scheduler if scheduler is not None else training_scheduler()
        self.window_tokens, self.overlap_tokens = window_tokens, overlap_tokens
        self.emotion_scale, self.style_scale = emotion_scale, style_scale
        self.body_token_average = body_token_average

    @property
    def face_latent_dim(self) -> int:
        """Latent channels of the face part of a token."""
        return self.face_vae.config.latent_dim

    # ---- latents <-> motion -------------------------------------------------------------------------------------

    def encode(self, face: torch.Tensor, body: torch.Tensor) -> torch.Tensor:
        """Raw face (B, T, 59) and body (B, T, 306) -> unit-scale joint latent (B, T/4, Lf + Lb), posterior means."""
        face_z = self.face_vae.to_unit(self.face_vae.encode(face)[0])
        body_z = self.body_vae.to_unit(self.body_vae.encode(body)[0])
        return torch.cat([face_z, body_z], dim=-1)

    def decode(self, latent: torch.Tensor, content: torch.Tensor,
               with_body: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Unit-scale joint latent (B, N, L) and content (B, 4N, 114) -> raw face (B, 4N, 59) and body (B, 4N, 306),
        or None without with_body; the content reaches the decoders that take it (see generators/learned/vae.py)."""
        lf = self.face_latent_dim
        parts = [(self.face_vae, latent[..., :lf])] + ([(self.body_vae, latent[..., lf:])] if with_body else [])
        decoded = [vae.decode(vae.from_unit(part), content if vae.condition is not None else None)
                   for vae, part in parts]
        if not with_body:
            return decoded[0], None
        return decoded[0], token_average(decoded[1]) if self.body_token_average else decoded[1]

    # ---- sampling -----------------------------------------------------------------------------------------------

    def make_scheduler(self, name: str, steps: int) -> DDIMSampler | DPMSolverSampler:
        """A DDIM or DPM-Solver++ (2nd order) sampler of `steps` steps on the training schedule."""
        return make_sampler(self.scheduler, name, steps)

    @staticmethod
    def guidance_passes(emotion_scale: float, style_scale: float, has_style: bool) -> list[tuple[bool, bool, float]]:
        """(drop_emotion, drop_style, weight) of each guidance pass with a non-zero weight."""
        if has_style:
            passes = [(True, True, 1.0 - style_scale), (True, False, style_scale - emotion_scale),
                      (False, False, emotion_scale)]
        else:
            passes = [(True, True, 1.0 - emotion_scale), (False, True, emotion_scale)]
        return [p for p in passes if p[2] != 0.0]

    def _guided(self, passes, style: torch.Tensor | None):
        """A function (x, t, content, emotion, context, mask) -> guided v for a batch of windows (W, n, .), all
        guidance passes of all windows run as one batch of the denoiser."""
        k = len(passes)
        weights = torch.tensor([w for _, _, w in passes]).reshape(k, 1, 1, 1)
        drop_emotion = torch.tensor([d for d, _, _ in passes])
        drop_style = torch.tensor([d for _, d, _ in passes])
        style = torch.zeros(1, STYLE_DIM) if style is None else style

        def predict(x, t, content, emotion, context, mask):
            w = x.shape[0]
            rep = lambda a: a.unsqueeze(0).expand(k, *a.shape).reshape(k * w, *a.shape[1:])  # noqa: E731
            prediction = self.denoiser(rep(x), t, rep(content), rep(emotion), style.expand(k * w, -1),
                                       context=rep(context), context_mask=rep(mask),
                                       drop_emotion=drop_emotion.repeat_interleave(w),
                                       drop_style=drop_style.repeat_interleave(w))
            return (weights * prediction.reshape(k, w, *x.shape[1:])).sum(dim=0)
        return predict

    @torch.no_grad()
    def denoise(self, content: torch.Tensor, emotion: torch.Tensor, style: torch.Tensor | None,
                generator: torch.Generator, steps: int = 10, scheduler: str = "dpm", emotion_scale: float = 1.0,
                style_scale: float = 1.0, known: torch.Tensor | None = None, known_tokens: int = 0) -> torch.Tensor:
        """One window: content/emotion (1, 4N, .), style (1, 6) or None -> latent (1, N, L); the first
        `known_tokens` tokens of `known` are kept exactly and given to the model as context (streaming)."""
        n = content.shape[1] // DOWNSAMPLE
        shape = (1, n, self.denoiser.config.latent_dim)
        sampler = self.make_scheduler(scheduler, steps)
        x = torch.randn(shape, generator=generator)
        mask = torch.zeros(1, n, dtype=torch.bool)
        mask[:, :known_tokens] = True
        known = torch.zeros(shape) if known is None else known
        known_noise = torch.randn(shape, generator=generator)
        predict = self._guided(self.guidance_passes(emotion_scale, style_scale, style is not None), style)
        for t in sampler.timesteps:
            if known_tokens:
                noised = sampler.add_noise(known, known_noise, t)
                x = torch.where(mask[..., None], noised, x)
            x = sampler.step(predict(x, t, content, emotion, known, mask), t, x)
        return torch.where(mask[..., None], known, x) if known_tokens else x

    @torch.no_grad()
    def denoise_windows(self, content: torch.Tensor, emotion: torch.Tensor, style: torch.Tensor | None,
                        generator: torch.Generator, steps: int = 10, scheduler: str = "dpm",
                        emotion_scale: float = 1.0, style_scale: float = 1.0) -> torch.Tensor:
        """A whole sequence: content/emotion (1, 4N, .) -> latent (1, N, L), every window denoised at once.

        At each step all windows (`windows`) go through the denoiser as one batch, and their predictions are
        averaged where they overlap, weighted by a ramp that fades each window out towards its ends (MultiDiffusion,
        Bar-Tal et al. 2023); the sampler then steps the whole sequence. The windows agree on their overlaps at
        every step, so they meet without seams, and one batched call per step is several times faster on a CPU
        than windows in turn.
        """
        n = content.shape[1] // DOWNSAMPLE
        plan = self.windows(n)
        size = plan[0][1] - plan[0][0]
        frames = torch.stack([torch.arange(DOWNSAMPLE * a, DOWNSAMPLE * b) for a, b, _ in plan])
        tokens = torch.stack([torch.arange(a, b) for a, b, _ in plan])
        content_w, emotion_w = content[0, frames], emotion[0, frames]
        ramp = torch.minimum(torch.arange(1, size + 1), torch.arange(size, 0, -1)).float()
        ramp = ramp.clamp(max=self.overlap_tokens + 1)[:, None]
        cover = torch.zeros(n, 1).index_add_(0, tokens.reshape(-1), ramp.repeat(len(plan), 1))
        sampler = self.make_scheduler(scheduler, steps)
        x = torch.randn(1, n, self.denoiser.config.latent_dim, generator=generator)
        context, mask = torch.zeros(len(plan), size, x.shape[2]), torch.zeros(len(plan), size, dtype=torch.bool)
        predict = self._guided(self.guidance_passes(emotion_scale, style_scale, style is not None), style)
        for t in sampler.timesteps:
            guided = predict(x[0, tokens], t, content_w, emotion_w, context, mask)
            merged = torch.zeros_like(x[0]).index_add_(0, tokens.reshape(-1), (guided * ramp).reshape(-1, x.shape[2]))
            x = sampler.step((merged / cover)[None], t, x)
        return x

    def windows(self, n_tokens: int) -> list[tuple[int, int, int]]:
        """(start, end, known tokens) of each window over a latent sequence of n_tokens: overlap_tokens known from
        the window before; the last one is flush with the end, so it may overlap its predecessor by more."""
        spans = sliding_spans(n_tokens, self.window_tokens, self.window_tokens - self.overlap_tokens)
        known_until = [0, *(end for _, end in spans)]  # each window knows the tokens its predecessor sampled
        return [(start, end, done - start) for (start, end), done in zip(spans, known_until, strict=False)]

    @torch.no_grad()
    def __call__(self, content, emotion, style=None, seed: int = 0, steps: int = 10, scheduler: str = "dpm",
                 emotion_scale: float | None = None, style_scale: float | None = None,
                 generator: torch.Generator | None = None,
                 with_body: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Face (T, 59) and body (T, 306) float32 for content (T, 114), emotion (T, 11) or (11,), style (6,); the body
        is None without with_body (the face alone is what the recognizer in the loop re-generates)."""
        content = _frames("content", content, CONTENT_DIM)
        if len(content) == 0:
            raise ValueError("content: has no frames; give at least one frame of features")
        emotion, style = _frames("emotion", emotion, EMOTION_DIM, len(content)), _style(style)
        emotion_scale = self.emotion_scale if emotion_scale is None else emotion_scale
        style_scale = self.style_scale if style_scale is None else style_scale
        generator = generator if generator is not None else torch.Generator().manual_seed(int(seed))
        n_frames = len(content)
        n = math.ceil(n_frames / DOWNSAMPLE)
        content_t = torch.from_numpy(_pad_to_tokens(content, n))[None]
        emotion_t = torch.from_numpy(_pad_to_tokens(emotion, n))[None]

        latent = self.denoise_windows(content_t, emotion_t, style, generator, steps, scheduler, emotion_scale,
                                      style_scale)
        face, body = self.decode(latent, content_t, with_body)
        return face[0, :n_frames].numpy().copy(), None if body is None else body[0, :n_frames].numpy().copy()

    @torch.no_grad()
    def stream(self, chunks: Iterable[tuple[np.ndarray, np.ndarray]], style=None, seed: int = 0, steps: int = 10,
               scheduler: str = "dpm", emotion_scale: float | None = None, style_scale: float | None = None,
               hop_tokens: int = 3, context_tokens: int = 8,
               delay_tokens: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (face, body) frame chunks as (content (t, 114), emotion (t, 11)) chunks of any length arrive.

        delay_tokens: how many of the newest tokens wait for their successors before being decoded; by default 0
        with causal decoders (their frames are final at once) and 2 otherwise.
        """
        if delay_tokens is None:
            causal = self.face_vae.config.causal_decoder and self.body_vae.config.causal_decoder
            delay_tokens = 0 if causal else 2
        if hop_tokens < 1 or context_tokens < 0 or delay_tokens < 0:
            raise ValueError("stream: hop_tokens must be >= 1, context_tokens and delay_tokens >= 0")
        emotion_scale = self.emotion_scale if emotion_scale is None else emotion_scale
        style_scale = self.style_scale if style_scale is None else style_scale
        generator = torch.Generator().manual_seed(int(seed))
        style_t = _style(style)
        past = _Rolling(self.denoiser.config.latent_dim)
        emitted = 0  # frames yielded so far

        def extend(hop: int) -> None:
            n = past.tokens
            start = max(n - context_tokens, past.base)
            content, emotion = past.features(start, n + hop)
            known = torch.cat([past.latent_from(start), torch.zeros(1, hop, past.latent.shape[2])], dim=1)
            window = self.denoise(content, emotion, style_t, generator, steps, scheduler, emotion_scale,
                                  style_scale, known, n - start)
            past.latent = torch.cat([past.latent, window[:, n - start:]], dim=1)

        def frames_until(stop: int) -> tuple[np.ndarray, np.ndarray]:
            first = max(emitted // DOWNSAMPLE - _DECODE_MARGIN, past.base)
            face, body = self.decode(past.latent_from(first), past.features(first, past.tokens)[0])
            window = slice(emitted - DOWNSAMPLE * first, stop - DOWNSAMPLE * first)
            past.trim(min(past.tokens - context_tokens, stop // DOWNSAMPLE - _DECODE_MARGIN))
            return face[0, window].numpy().copy(), body[0, window].numpy().copy()

        for content_chunk, emotion_chunk in chunks:
            content_chunk = _frames("content chunk", content_chunk, CONTENT_DIM)
            past.add(content_chunk, _frames("emotion chunk", emotion_chunk, EMOTION_DIM, len(content_chunk)))
            while past.received >= DOWNSAMPLE * (past.tokens + hop_tokens):
                extend(hop_tokens)
                ready = DOWNSAMPLE * (past.tokens - delay_tokens)
                if ready > emitted:
                    out = frames_until(ready)
                    emitted = ready
                    yield out
        total = past.received
        if total == 0:
            return
        n_total = math.ceil(total / DOWNSAMPLE)
        past.pad_to(n_total)
        while past.tokens < n_total:
            extend(min(hop_tokens, n_total - past.tokens))
        while emitted < total:  # the tail, in hops too, so no chunk is larger than a hop
            stop = min(emitted + DOWNSAMPLE * hop_tokens, total)
            out = frames_until(stop)
            emitted = stop
            yield out

    # ---- persistence --------------------------------------------------------------------------------------------

    def pipeline_config(self) -> dict:
        """The sampling settings written to config.json."""
        return {"_class_name": type(self).__name__, "fps": self.fps, "downsample": DOWNSAMPLE,
                "face_dim": self.face_vae.config.input_dim, "body_dim": self.body_vae.config.input_dim,
                "window_tokens": self.window_tokens, "overlap_tokens": self.overlap_tokens,
                "emotion_scale": self.emotion_scale, "style_scale": self.style_scale,
                "body_token_average": self.body_token_average,
                "prediction_type": self.scheduler.prediction_type}

    def save_pretrained(self, path: str | Path) -> Path:
        """Write the pipeline folder; each part is written beside and swapped in, and other files are kept."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        parts = {"face_vae": self.face_vae, "body_vae": self.body_vae, "denoiser": self.denoiser,
                 "scheduler": self.scheduler}
        for name, part in parts.items():
            tmp, old = path / f".{name}.saving", path / f".{name}.old"
            shutil.rmtree(tmp, ignore_errors=True)
            part.save_pretrained(tmp)
            shutil.rmtree(old, ignore_errors=True)
            if (path / name).exists():
                (path / name).rename(old)
            tmp.rename(path / name)
            shutil.rmtree(old, ignore_errors=True)
        tmp = path / ".config.json.saving"
        tmp.write_text(json.dumps(self.pipeline_config(), indent=2) + "\n")
        tmp.replace(path / "config.json")
        return path

    @classmethod
    def from_pretrained(cls, path: str | Path) -> MotionDiffusionPipeline:
        """Load a pipeline folder written by save_pretrained."""
        path = Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path}: not a motion pipeline folder (no config.json); train one with "
                                    f"generators.learned.train or point to a checkpoint folder")
        config = json.loads((path / "config.json").read_text())
        if (config.get("face_dim", FACE_DIM), config.get("body_dim", BODY_DIM)) != (FACE_DIM, BODY_DIM):
            raise ValueError(f"{path}: made for face/body dims {config.get('face_dim')}/{config.get('body_dim')}, "
                             f"this code uses {FACE_DIM}/{BODY_DIM}; retrain it")
        if config.get("fps", cls.fps) != cls.fps:
            raise ValueError(f"{path}: made at {config['fps']} fps, this code's motion representation is "
                             f"{cls.fps:g} fps; retrain it")
        return cls(MotionVAE.from_pretrained(path / "face_vae"), MotionVAE.from_pretrained(path / "body_vae"),
                   MotionDenoiser.from_pretrained(path / "denoiser"), NoiseSchedule.from_pretrained(path / "scheduler"),
                   window_tokens=config["window_tokens"], overlap_tokens=config["overlap_tokens"],
                   emotion_scale=config["emotion_scale"], style_scale=config["style_scale"],
                   body_token_average=config.get("body_token_average", True))
