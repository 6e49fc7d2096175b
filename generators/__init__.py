"""What makes motion and pixels: latent-diffusion generators, procedural animators, talking-head renderer.

Empty until the generator issues land; the package exists so the layout shows the architecture.
"""
