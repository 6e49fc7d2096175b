"""The learned (latent-diffusion) motion generators: representation, data, models, schedulers, pipeline, training."""
