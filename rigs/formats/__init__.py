"""File formats: BVH, Live Link Face CSV, ARKit JSON, glTF/GLB."""
