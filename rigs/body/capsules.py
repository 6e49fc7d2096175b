"""A stand-in body for any skeleton: one capsule per bone, each rigidly bound to the joint that moves it.

Used by the body GLB (as a skinned mesh) and by the preview renderer (skinned on the CPU).
"""

from __future__ import annotations

import numpy as np

# Capsule radius in metres by joint-name keyword, first match wins: a readable stand-in body, not a character.
_RADII = (("Thumb", 0.008), ("Index", 0.008), ("Middle", 0.008), ("Ring", 0.008), ("Pinky", 0.007),
          ("Hand", 0.02), ("ForeArm", 0.032), ("Arm", 0.04), ("Shoulder", 0.045), ("Head", 0.09), ("Neck", 0.05),
          ("Spine", 0.1), ("Hips", 0.1), ("UpLeg", 0.065), ("Leg", 0.05), ("Foot", 0.04), ("Toe", 0.03))


def _radius(name: str) -> float:
    return next((r for key, r in _RADII if key.lower() in name.lower()), 0.03)


def _capsule(start: np.ndarray, end: np.ndarray, radius: float, sides: int = 10, cap_rings: int = 3):
    """Vertices and triangles of a capsule around the segment start-end."""
    axis = end - start
    length = float(np.linalg.norm(axis))
    direction = axis / length if length > 1e-9 else np.array([0.0, 1.0, 0.0])
    # Rings from the bottom pole to the top pole: (height along the axis, ring radius).
    angles = np.linspace(-np.pi / 2, 0, cap_rings + 1)[1:]
    bottom = [(radius * np.sin(a), radius * np.cos(a)) for a in angles]
    top = [(length - h, r) for h, r in reversed(bottom)]
    rings = bottom + top
    helper = np.array([1.0, 0, 0]) if abs(direction[0]) < 0.9 else np.array([0, 0, 1.0])
    u = np.cross(direction, helper)
    u /= np.linalg.norm(u)
    v = np.cross(direction, u)
    theta = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    circle = np.cos(theta)[:, None] * u + np.sin(theta)[:, None] * v
    vertices = [start - radius * direction]
    vertices += [start + h * direction + r * circle for h, r in rings]
    vertices.append(end + radius * direction)
    vertices = np.vstack([np.atleast_2d(x) for x in vertices])
    triangles = []
    last = len(vertices) - 1
    for s in range(sides):
        n = (s + 1) % sides
        triangles.append((0, 1 + n, 1 + s))
        for ring in range(len(rings) - 1):
            a, b = 1 + ring * sides, 1 + (ring + 1) * sides
            triangles += [(a + s, a + n, b + s), (a + n, b + n, b + s)]
        top_ring = 1 + (len(rings) - 1) * sides
        triangles.append((last, top_ring + s, top_ring + n))
    return vertices, np.array(triangles, np.int64)


def _above_the_sole(name: str, start: np.ndarray, end: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep the feet's capsules above the sole: BEAT's foot joints (ForeFoot, ToeBase, ToeBaseEnd) lie on the sole,
    so their capsules rise by their radius, and the shin's ends at the ankle instead of reaching below it."""
    if "ForeFoot" in name or "Toe" in name:
        lift = np.array([0.0, radius, 0.0])
        return start + lift, end + lift
    if name.endswith("Foot"):
        length = float(np.linalg.norm(end - start))
        return start, end - (end - start) * min(radius / max(length, 1e-9), 0.5)
    return start, end


def capsule_body(skeleton, rest: np.ndarray, scale: float):
    """A capsule per bone (parent to child, and joint to end site), each rigidly bound to the bone's parent joint."""
    segments = [(int(p), rest[int(p)], rest[j], skeleton.names[j]) for j, p in enumerate(skeleton.parents) if p >= 0]
    segments += [(j, rest[j], rest[j] + np.asarray(end) * scale, skeleton.names[j])
                 for j, end in skeleton.end_sites.items()]
    vertices, triangles, joints = [], [], []
    count = 0
    for joint, start, end, name in segments:
        if np.linalg.norm(end - start) < 1e-4:
            continue
        radius = min(_radius(name), 0.45 * float(np.linalg.norm(end - start)) + 0.006)
        start, end = _above_the_sole(name, start, end, radius)
        v, t = _capsule(start, end, radius)
        vertices.append(v)
        triangles.append(t + count)
        joints.append(np.full(len(v), joint))
        count += len(v)
    return np.vstack(vertices).astype(np.float32), np.vstack(triangles), np.concatenate(joints)
