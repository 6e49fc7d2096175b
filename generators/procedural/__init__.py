"""Procedural animators: explainable face and body motion from speech timing, prosody and emotion.

A product mode of their own (fast, controllable) and the teacher the learned generators train on.
"""
