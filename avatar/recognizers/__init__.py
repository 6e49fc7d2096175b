"""Emotion recognizers: speech, text (and later face motion and rendered frames)."""
