"""Emotion recognizers: speech, text, face motion (ARKit tracks) and facial expression (rendered frames). The three
that read over time have one shape (avatar.emotion.timeline.EmotionReader): `from_pretrained()`, and `read(...)`
giving an EmotionTimeline on the frame clock."""
