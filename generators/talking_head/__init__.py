"""Talking-head video on the CPU: a portrait photo animated by an ARKit-52 face track (warp + eyes + inner mouth).

    portrait = Portrait.load("photo.jpg")             # or None for the bundled public-domain portrait
    rendered = TalkingHeadRenderer(portrait).render(face_track)   # frames (T, 512, 512, 3), landmarks (T, 478, 2)
    write_video("talking_head.mp4", rendered.frames, face_track.fps, audio="speech.wav")

Modules: portrait (read, detect, crop, segment), fit (camera, expression, identity), animate (landmarks from the
track, with the emotion-bearing shapes' expressiveness), texture (a smiling photo's folds smoothed out), warp (mesh
to dense flow, background), shading (the creases of the action units), glasses (found, and kept rigid), eyes, mouth,
renderer (a frame), video (MP4).
"""

from generators.talking_head.portrait import Portrait, PortraitError, default_portrait_path
from generators.talking_head.renderer import Rendered, TalkingHeadRenderer
from generators.talking_head.video import beside_body, render_video, write_video

__all__ = ["Portrait", "PortraitError", "Rendered", "TalkingHeadRenderer", "beside_body", "default_portrait_path",
           "render_video", "write_video"]
