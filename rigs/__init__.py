"""What gets animated and how it is written down: ARKit-52 face, BEAT skeleton, file formats.

Empty until the rigs issue lands; the package exists so the layout shows the architecture.
"""
