"""What gets animated and how it is written down: ARKit-52 face, BEAT skeleton, file formats.

Below everything else: it imports neither `avatar` nor `generators`.
"""
