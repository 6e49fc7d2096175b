"""The face rig: ARKit-52 names and metadata, face tracks, and the face mesh with its blendshape basis."""
