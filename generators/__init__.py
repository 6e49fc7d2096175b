"""What makes motion and pixels: latent-diffusion generators, procedural animators, talking-head renderer."""

# The motion generators a render can use. The latent-diffusion checkpoint is the default (it matches its procedural
# teacher on the lip-sync, blink, emotion and gesture measures: checkpoints/motion-diffusion/README.md); the
# procedural animators stay one option away. Kept here, free of heavy imports, so the CLI starts quickly.
GENERATORS = ("learned", "procedural")
DEFAULT_GENERATOR = "learned"
