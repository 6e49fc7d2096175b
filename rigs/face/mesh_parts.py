"""The face mesh's geometry beyond the skin: eyeballs, eye sockets, inner mouth, teeth, tongue, head and neck.

Every part is made here from a few adult anatomical sizes (millimetres in comments) placed relative to the
landmarks; nothing is copied from another mesh. Each vertex also records how it moves: with the skull, with the
jaw, with one eye, or by following a landmark (so parts glued to the lips or lids stay glued), and how much of
the head rotation it takes (the neck bends).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MM = 1e-3
EYEBALL_RADIUS = 12.0 * MM  # axial length about 24 mm
RIGHT, LEFT = 0, 1  # eye sides, the character's own (right eye at -X)

SKIN = (0.86, 0.68, 0.58)
LIPS = (0.74, 0.42, 0.42)
BROWS = (0.56, 0.44, 0.38)
HAIR = (0.55, 0.52, 0.50)
SCLERA = (0.94, 0.92, 0.89)
IRIS = (0.32, 0.44, 0.55)
PUPIL = (0.03, 0.03, 0.04)
LID_MARGIN = (0.80, 0.55, 0.52)
CAVITY = (0.40, 0.12, 0.12)
TEETH = (0.95, 0.92, 0.84)
TONGUE = (0.70, 0.33, 0.36)


@dataclass
class Assembly:
    """The mesh under construction: vertices, triangles and colours with each vertex's motion binding."""

    vertices: list[np.ndarray] = field(default_factory=list)
    triangles: list[np.ndarray] = field(default_factory=list)
    colors: list[np.ndarray] = field(default_factory=list)
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    anchor: list[np.ndarray] = field(default_factory=list)  # landmark followed, -1 for none
    follow: list[np.ndarray] = field(default_factory=list)  # share of the anchor's motion taken
    jaw: list[np.ndarray] = field(default_factory=list)  # share of the jaw's rigid motion in the rest
    eye: list[np.ndarray] = field(default_factory=list)  # RIGHT or LEFT eyeball, -1 for none
    head: list[np.ndarray] = field(default_factory=list)  # share of the head rotation
    count: int = 0

    def add(self, name: str, vertices, triangles=(), colors=SKIN, *, anchor=-1, follow=0.0, jaw=0.0, eye=-1,
            head=1.0) -> np.ndarray:
        """Append a part whose triangles index the whole mesh; returns the part's vertex indices."""
        vertices = np.asarray(vertices, np.float64).reshape(-1, 3)
        n = len(vertices)
        self.vertices.append(vertices)
        self.triangles.append(np.asarray(triangles, np.int64).reshape(-1, 3))
        self.colors.append(np.broadcast_to(np.asarray(colors, np.float64), (n, 3)).copy())
        for store, value in ((self.anchor, anchor), (self.follow, follow), (self.jaw, jaw), (self.eye, eye),
                             (self.head, head)):
            store.append(np.broadcast_to(np.asarray(value), (n,)).copy())
        self.parts[name] = np.arange(self.count, self.count + n)
        self.count += n
        return self.parts[name]

    def array(self, name: str) -> np.ndarray:
        """One per-vertex attribute over the whole mesh."""
        return np.concatenate(getattr(self, name))


def ring_strip(first, second) -> np.ndarray:
    """Triangles joining two closed rings of vertex indices of the same length."""
    a, b = np.asarray(first), np.asarray(second)
    a1, b1 = np.roll(a, -1), np.roll(b, -1)
    return np.concatenate([np.stack([a, b, b1], 1), np.stack([a, b1, a1], 1)])


def fan(ring, apex: int) -> np.ndarray:
    """Triangles joining a closed ring of vertex indices to one apex vertex."""
    ring = np.asarray(ring)
    return np.stack([ring, np.full_like(ring, apex), np.roll(ring, -1)], 1)


def orient(vertices: np.ndarray, triangles: np.ndarray, inside: np.ndarray, outward: bool = True) -> np.ndarray:
    """Triangles wound so their normals point away from (or toward) a point or per-triangle points inside."""
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    normal = np.cross(b - a, c - a)
    away = np.einsum("ij,ij->i", normal, (a + b + c) / 3 - inside) > 0
    return np.where((away == outward)[:, None], triangles, triangles[:, ::-1])


def mirrored(vertices: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mirror image in X of a part (winding reversed so normals still point the same way relative to it)."""
    return vertices * [-1.0, 1.0, 1.0], triangles[:, ::-1]


# ----- eyes -----

def eye_center(iris_center: np.ndarray, lids: np.ndarray, clearance: float = 0.8 * MM) -> np.ndarray:
    """The eyeball centre behind an iris: as far forward as it goes while staying behind every lid landmark."""
    lateral = np.linalg.norm(lids[:, :2] - iris_center[:2], axis=1)
    # A lid point q leaves room for centres with z <= q_z - sqrt((R + clearance)^2 - lateral^2).
    reach = np.sqrt(np.maximum((EYEBALL_RADIUS + clearance) ** 2 - lateral**2, 0.0))
    z = np.min(np.where(lateral < EYEBALL_RADIUS + clearance, lids[:, 2] - reach, np.inf))
    return np.array([iris_center[0], iris_center[1], min(z, iris_center[2] - EYEBALL_RADIUS)])


def eyeball(iris_radius: float, segments: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sphere of EYEBALL_RADIUS about the origin looking along +Z, coloured pupil, iris, limbus and sclera."""
    iris = np.arcsin(iris_radius / EYEBALL_RADIUS)
    pupil = np.arcsin(0.42 * iris_radius / EYEBALL_RADIUS)  # pupil about 5 mm across in daylight
    # Rings sit on the colour borders so that per-vertex colours give crisp pupil and limbus edges.
    polar = [0.6 * pupil, pupil, 1.25 * pupil, 0.75 * iris, 0.93 * iris, iris, 1.1 * iris] + list(
        np.radians([55, 80, 110, 145]))
    ring_colors = [PUPIL, PUPIL, IRIS, IRIS, np.multiply(IRIS, 0.55), SCLERA, SCLERA] + [SCLERA] * 4
    azimuth = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    polar = np.asarray(polar)
    rings = np.stack([np.outer(np.sin(polar), np.cos(azimuth)), np.outer(np.sin(polar), np.sin(azimuth)),
                      np.repeat(np.cos(polar)[:, None], segments, 1)], -1).reshape(-1, 3)
    unit = np.concatenate([[[0.0, 0.0, 1.0]], rings, [[0.0, 0.0, -1.0]]])
    colors = np.concatenate([[PUPIL], np.repeat(ring_colors, segments, 0), [SCLERA]])
    index = 1 + np.arange(len(polar) * segments).reshape(len(polar), segments)
    triangles = [fan(index[0], 0)] + [ring_strip(index[k], index[k + 1]) for k in range(len(polar) - 1)]
    triangles.append(fan(index[-1], len(unit) - 1))
    vertices = EYEBALL_RADIUS * unit
    return vertices, orient(vertices, np.concatenate(triangles), np.zeros(3)), colors


def iris_on_eyeball(center: np.ndarray, iris: np.ndarray) -> tuple[np.ndarray, float]:
    """The five iris landmarks (centre, then ring) moved onto the eyeball looking straight ahead, and the radius."""
    offsets = iris[1:, :2] - iris[0, :2]
    radius = float(np.clip(np.linalg.norm(offsets, axis=1).mean(), 5.2 * MM, 6.4 * MM))  # iris about 11.7 mm
    tilt = np.arcsin(radius / EYEBALL_RADIUS)
    directions = offsets / np.linalg.norm(offsets, axis=1, keepdims=True)
    ring = np.column_stack([directions * np.sin(tilt), np.full(len(directions), np.cos(tilt))])
    return center + EYEBALL_RADIUS * np.vstack([[0.0, 0.0, 1.0], ring]), radius


def socket(rim: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A cone from the lid rim into the eyeball (the pink conjunctiva at the eye corners): inner ring vertices."""
    inward = rim - center
    inward /= np.linalg.norm(inward, axis=1, keepdims=True)
    return center + (EYEBALL_RADIUS - 2.0 * MM) * inward, center


# ----- mouth -----

# Cavity rings behind the inner-lip loop: depth, extra height (up for the upper lip, down for the lower),
# width scale, share of the lip motion followed. The first ring pinches shut behind closed lips (negative
# height), so the teeth never show through the lip line of a closed mouth.
CAVITY_RINGS = ((2.0, -1.0, 0.97, 0.85), (9.0, 5.0, 0.90, 0.45), (20.0, 9.0, 0.78, 0.15), (33.0, 8.0, 0.55, 0.0))
CAVITY_BACK = 42.0


def cavity_rings(loop: np.ndarray, sides: np.ndarray) -> list[np.ndarray]:
    """Rings of the mouth bag behind the inner-lip loop; sides is +1 upper lip, -1 lower, 0 corner."""
    rings = []
    for depth, height, width, _ in CAVITY_RINGS:
        ring = loop * [width, 1.0, 1.0] + np.outer(sides, [0.0, height * MM, 0.0]) - [0.0, 0.0, depth * MM]
        rings.append(ring)
    return rings


def dental_arch(t: np.ndarray, front_z: float) -> tuple[np.ndarray, np.ndarray]:
    """Points (x, z) and unit horizontal tangents (x, z) along the arch, t in radians from the midline."""
    half_width, depth = 26.0 * MM, 32.0 * MM  # molars about 50 mm apart, 30 mm behind the incisors
    points = np.stack([half_width * np.sin(t), front_z - depth * (1 - np.cos(t))], -1)
    tangent = np.stack([half_width * np.cos(t), -depth * np.sin(t)], -1)
    return points, tangent / np.linalg.norm(tangent, axis=-1, keepdims=True)


# A crown's cross-sections from its biting edge to the gum: rise (share of its height), width and thickness (shares
# of the tooth's). The edge is narrower than the crown just above it, as worn incisors' rounded corners make it:
# between neighbours that leaves the small dark notches (embrasures) that make a row of teeth read as teeth, not
# as one band.
CROWN_RINGS = ((0.0, 0.8, 0.55), (0.12, 1.0, 0.7), (1.0, 0.8, 1.0))
RING = ((-0.5, 0.5), (0.5, 0.5), (0.5, -0.5), (-0.5, -0.5))  # (along, outward) corners; the first two face the lips
CROWN_CORNERS = len(CROWN_RINGS) * len(RING)
LABIAL_CORNERS = tuple(k * len(RING) + c for k in range(len(CROWN_RINGS)) for c in (0, 1))


def tooth(base: np.ndarray, tangent: np.ndarray, width: float, height: float, thickness: float) -> np.ndarray:
    """A tooth crown's CROWN_CORNERS corners, ring by ring from the centre of its biting edge: height signed (+ up
    for lower teeth)."""
    outward = np.array([-tangent[1], 0.0, tangent[0]])  # horizontal, toward the lips
    along = np.array([tangent[0], 0.0, tangent[1]])
    return np.array([base + along * w * width * narrow + outward * (d - 0.5) * thickness * thin
                     + [0.0, rise * height, 0.0]
                     for rise, narrow, thin in CROWN_RINGS for w, d in RING])


def _crown_triangles() -> np.ndarray:
    """The crown's surface: a cap at the edge and at the gum, and quads between consecutive rings."""
    n, last = len(RING), len(RING) * (len(CROWN_RINGS) - 1)
    tris = [[0, 1, 2], [0, 2, 3], [last, last + 1, last + 2], [last, last + 2, last + 3]]
    for ring in range(len(CROWN_RINGS) - 1):
        a, b = ring * n, (ring + 1) * n
        for i in range(n):
            j = (i + 1) % n
            tris += [[a + i, a + j, b + j], [a + i, b + j, b + i]]
    return np.array(tris)


CROWN = _crown_triangles()


def labial_normals(crowns: np.ndarray) -> np.ndarray:
    """Unit normals (K, 3) of the lip-side faces of crowns (K, CROWN_CORNERS, 3) made by tooth(): seen from the
    front, a tooth is that face, so it shades as one surface turned with the arch (the average of a box's corner
    normals would tilt each corner 45 degrees and stripe every tooth)."""
    back = [k for k in range(CROWN_CORNERS) if k not in LABIAL_CORNERS]
    outward = crowns[:, list(LABIAL_CORNERS)].mean(1) - crowns[:, back].mean(1)
    axis = crowns[:, :len(RING)].mean(1) - crowns[:, -len(RING):].mean(1)  # gum to biting edge
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    normal = outward - (outward * axis).sum(-1, keepdims=True) * axis  # in the face's plane: the crown's lean
    return normal / np.linalg.norm(normal, axis=-1, keepdims=True)


def teeth_row(front_z: float, edge_y: float, widths_mm, heights_mm, thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """A mirror-symmetric row of teeth along the arch from the biting edge: heights up (+) or down (-) to the gum."""
    dense = np.linspace(0, np.pi / 2, 2000)
    points, _ = dental_arch(dense, front_z)
    arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    slots = np.concatenate([[0], np.cumsum(widths_mm)]) * MM
    vertices, triangles = [], []
    for k, (width, height) in enumerate(zip(widths_mm, heights_mm, strict=True)):
        t = np.interp((slots[k] + slots[k + 1]) / 2, arc, dense)
        (x, z), tangent = (a[0] for a in dental_arch(np.array([t]), front_z))
        box = tooth(np.array([x, edge_y, z]), tangent, 0.92 * width * MM, height * MM, thickness)
        tris = orient(box, CROWN, box.mean(0)) + CROWN_CORNERS * len(vertices)
        vertices.append(box)
        triangles.append(tris)
    right_v, right_t = np.concatenate(vertices), np.concatenate(triangles)
    left_v, left_t = mirrored(right_v, right_t)
    return np.concatenate([left_v, right_v]), np.concatenate([left_t + len(right_v), right_t])


def ellipsoid(center, radii, rings: int = 9, segments: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A lat-long ellipsoid with its poles on the Z axis (front pole first), outward triangles."""
    polar = np.linspace(0, np.pi, rings + 2)[1:-1]
    azimuth = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    unit = np.stack([np.outer(np.sin(polar), np.cos(azimuth)), np.outer(np.sin(polar), np.sin(azimuth)),
                     np.repeat(np.cos(polar)[:, None], segments, 1)], -1).reshape(-1, 3)
    unit = np.concatenate([[[0.0, 0.0, 1.0]], unit, [[0.0, 0.0, -1.0]]])
    vertices = np.asarray(center) + unit * radii
    index = 1 + np.arange(rings * segments).reshape(rings, segments)
    tris = [fan(index[0], 0)] + [ring_strip(index[k], index[k + 1]) for k in range(rings - 1)]
    tris.append(fan(index[-1], len(unit) - 1))
    return vertices, orient(vertices, np.concatenate(tris), np.asarray(center, np.float64))


# ----- head -----

def slerp_to(directions: np.ndarray, target: np.ndarray, t: float) -> np.ndarray:
    """Unit directions turned a fraction t of the way toward one target direction."""
    cos = np.clip(directions @ target, -1.0, 1.0)
    angle = np.arccos(cos)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = (np.sin((1 - t) * angle) * directions + np.sin(t * angle) * target) / np.sin(angle)
    return np.where(angle > 1e-9, mixed, directions)


def head_shell(oval: np.ndarray, center: np.ndarray, radii: np.ndarray, rings: int = 8) -> list[np.ndarray]:
    """Rings sweeping the face outline back over an ellipsoidal skull to a pole behind the head."""
    offsets = oval - center
    distance = np.linalg.norm(offsets, axis=1)
    directions = offsets / distance[:, None]
    back = np.array([0.0, 0.0, -1.0])
    result = []
    for k in range(1, rings + 1):
        t = k / (rings + 1)
        turned = slerp_to(directions, back, t)
        on_skull = 1.0 / np.linalg.norm(turned / radii, axis=1)  # ellipsoid radius along each direction
        blend = np.clip(2.5 * t, 0.0, 1.0)  # leave the face outline smoothly, then ride the skull
        result.append(center + turned * ((1 - blend) * distance + blend * on_skull)[:, None])
    return result


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """0 below edge0, 1 above edge1, a smooth cubic in between."""
    t = np.clip((np.asarray(x, np.float64) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


# ----- the whole mesh -----

def enclosed(triangles: np.ndarray, boundary, seeds) -> np.ndarray:
    """The vertices reachable from seeds over mesh edges without crossing a boundary loop (which is included)."""
    boundary = set(int(v) for v in boundary)
    neighbours: dict[int, set[int]] = {}
    for a, b in np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]]):
        neighbours.setdefault(int(a), set()).add(int(b))
        neighbours.setdefault(int(b), set()).add(int(a))
    seen, stack = set(int(v) for v in seeds), [int(v) for v in seeds]
    while stack:
        v = stack.pop()
        if v in boundary:
            continue
        for n in neighbours[v] - seen:
            seen.add(n)
            stack.append(n)
    return np.array(sorted(seen | boundary))


def face_colors(landmarks: np.ndarray, triangles: np.ndarray, loops: dict[str, np.ndarray]) -> np.ndarray:
    """Skin with red lips (a softer outer border) and darker brows, per landmark."""
    colors = np.tile(np.asarray(SKIN, np.float64), (len(landmarks), 1))
    lips = enclosed(triangles, loops["lips_outer"], loops["lips_inner"])
    colors[lips] = LIPS
    colors[loops["lips_outer"]] = 0.25 * np.asarray(SKIN) + 0.75 * np.asarray(LIPS)
    brows = np.concatenate([loops["brow_right"], loops["brow_left"]])
    colors[brows] = BROWS
    return colors


def reflect(vectors: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """The mirror image of per-vertex vectors (..., V, 3): X negated and each vertex given its partner's value."""
    return vectors[..., mirror, :] * np.array([-1.0, 1.0, 1.0], vectors.dtype)


def assemble(landmarks: np.ndarray, skin: np.ndarray, loops: dict[str, np.ndarray]) -> tuple[Assembly, dict]:
    """The whole face mesh around the 478 landmarks, and the anatomical points the blendshapes need."""
    lm = np.asarray(landmarks, np.float64).copy()
    points: dict[str, np.ndarray] = {
        "stomion": (lm[13] + lm[14]) / 2,  # where the lips meet, on the midline
        "jaw_hinge": np.array([0.0, lm[234, 1] - 10 * MM, lm[234, 2] - 12 * MM]),  # just below and before the ear
    }
    for name in ("right", "left"):  # eyeballs first: the iris landmarks move onto them
        iris, rim = loops[f"iris_{name}"], loops[f"eye_{name}"]
        points[f"eye_{name}"] = eye_center(lm[iris[0]], lm[rim])
        lm[iris], points[f"iris_radius_{name}"] = iris_on_eyeball(points[f"eye_{name}"], lm[iris])
    asm = Assembly()
    asm.add("face", lm[:468], skin, face_colors(lm[:468], skin, loops))
    asm.add("irisRight", lm[468:473], colors=IRIS, eye=RIGHT)
    asm.add("irisLeft", lm[473:478], colors=IRIS, eye=LEFT)
    _add_eyes(asm, lm, loops, points)
    _add_mouth(asm, lm, loops, points)
    _add_head(asm, lm, loops, points)
    return asm, points


def _add_eyes(asm: Assembly, lm: np.ndarray, loops: dict, points: dict) -> None:
    """Eyeballs, and sockets glued to the lid rims so the eye corners show pink, not a hole."""
    for side, name in ((RIGHT, "Right"), (LEFT, "Left")):
        center, rim = points[f"eye_{name.lower()}"], loops[f"eye_{name.lower()}"]
        ball, tris, colors = eyeball(points[f"iris_radius_{name.lower()}"])
        asm.add(f"eye{name}", center + ball, tris + asm.count, colors, eye=side)
        inner, apex = socket(lm[rim], center)
        start, n = asm.count, len(rim)
        verts = np.vstack([lm[rim], inner, apex])
        ring0, ring1 = np.arange(n) + start, np.arange(n) + start + n
        tris = np.concatenate([ring_strip(ring0, ring1), fan(ring1, start + 2 * n)])
        tris = orient(np.vstack([np.zeros((start, 3)), verts]), tris, center - [0.0, 0.0, 0.05])  # face forward
        colors = np.vstack([np.tile(LID_MARGIN, (n, 1)), np.tile(np.multiply(LID_MARGIN, 0.75), (n + 1, 1))])
        asm.add(f"socket{name}", verts, tris, colors, anchor=np.r_[rim, rim, -1], follow=np.r_[np.ones(n),
                                                                                          np.full(n, 0.5), 0.0])


def _add_mouth(asm: Assembly, lm: np.ndarray, loops: dict, points: dict) -> None:
    """The mouth bag glued to the inner-lip loop (roof with the skull, floor with the jaw), teeth and tongue."""
    stomion, loop = points["stomion"], loops["lips_inner"]
    n = len(loop)
    sides = np.where(np.arange(n) < n // 2, 1.0, -1.0)  # the loop runs over the upper lip first
    sides[[0, n // 2]] = 0.0  # the two corners
    rings = [lm[loop]] + cavity_rings(lm[loop], sides)
    start = asm.count
    index = start + np.arange(len(rings) * n).reshape(len(rings), n)
    tris = np.concatenate([ring_strip(index[k], index[k + 1]) for k in range(len(rings) - 1)]
                          + [fan(index[-1], start + len(rings) * n)])
    verts = np.vstack(rings + [stomion - [0.0, 0.0, CAVITY_BACK * MM]])
    cap = tris[-1] - start  # strips and fan share one winding: turn it so the back wall faces the mouth (+Z)
    if np.cross(verts[cap[1]] - verts[cap[0]], verts[cap[2]] - verts[cap[0]])[2] < 0:
        tris = tris[:, ::-1]
    depth = np.r_[np.zeros(n), np.repeat([r[0] for r in CAVITY_RINGS], n), CAVITY_BACK]
    asm.add("mouthCavity", verts, tris, np.outer(1.0 - 0.6 * smoothstep(0.0, CAVITY_BACK, depth), CAVITY),
            anchor=np.r_[np.tile(loop, len(rings)), -1], follow=np.r_[np.ones(n), np.repeat([r[3] for r in
                                                                                             CAVITY_RINGS], n), 0.0],
            jaw=np.r_[np.tile((1 - sides) / 2, len(rings)), 0.5])

    # Upper incisors reach 1.5 mm below the lip line and overlap the lowers by 2 mm (overbite), 2.5 mm in front.
    front = stomion[2] - 6.0 * MM
    for name, z, y, widths, heights, jaw in (
        ("teethUpper", front, stomion[1] - 1.5 * MM, (8.5, 6.5, 7.5, 7.0, 6.5, 10.0), (10.5, 9, 10, 8, 7.5, 7), 0.0),
        ("teethLower", front - 2.5 * MM, stomion[1] + 0.5 * MM, (5.5, 6.0, 7.0, 7.0, 7.0, 11.0), (-9, -9, -10, -8,
                                                                                                   -8, -7), 1.0),
    ):  # crown widths and heights in mm, incisors first (adult averages)
        verts, tris = teeth_row(z, y, widths, heights, 6.5 * MM)
        shade = 1.0 - 0.55 * smoothstep(0.0, 30 * MM, front - verts[:, 2])  # back teeth sit in the mouth's shadow
        asm.add(name, verts, tris + asm.count, np.outer(shade, TEETH), jaw=jaw)

    # Tongue: a flattened ellipsoid on the floor of the mouth, its tip just behind the lower incisors.
    radii = np.array([18.0, 8.0, 24.0]) * MM
    center = np.array([0.0, stomion[1] - 8.5 * MM, front - 9.0 * MM - radii[2]])
    verts, tris = ellipsoid(center, radii)
    shade = 1.0 - 0.6 * smoothstep(0.0, 2 * radii[2], center[2] + radii[2] - verts[:, 2])
    asm.add("tongue", verts, tris + asm.count, np.outer(shade, TONGUE), jaw=1.0)
    points["tongue_center"], points["tongue_radii"] = center, radii


def _add_head(asm: Assembly, lm: np.ndarray, loops: dict, points: dict) -> None:
    """A skull swept back from the face outline (hair on top and behind), and a neck that bends with the head."""
    oval = loops["face_oval"]
    center = np.array([0.0, lm[234, 1] + 10 * MM, lm[234, 2] - 25 * MM])
    shell = head_shell(lm[oval], center, np.array([76.0, 105.0, 98.0]) * MM)  # a 150 x 210 x 195 mm head
    start = asm.count
    index = np.vstack([oval, start + np.arange(len(shell) * len(oval)).reshape(len(shell), len(oval))])
    verts = np.vstack(shell + [center + [0.0, 0.0, -98.0 * MM]])
    tris = np.concatenate([ring_strip(index[k], index[k + 1]) for k in range(len(shell))]
                          + [fan(index[-1], start + len(verts) - 1)])
    tris = orient(np.vstack([lm[:468], np.zeros((start - 468, 3)), verts]), tris, center)
    ring = np.r_[np.repeat(np.arange(1, len(shell) + 1), len(oval)), len(shell) + 1]
    hair = smoothstep(lm[234, 1] - 5 * MM, lm[234, 1] + 15 * MM, verts[:, 1]) * smoothstep(0.0, 2.5, ring)
    asm.add("head", verts, tris, (1 - hair)[:, None] * SKIN + hair[:, None] * HAIR,
            anchor=np.r_[np.tile(oval, len(shell)), -1], follow=np.exp(-0.9 * ring) * (ring <= len(shell)))
    points["head_center"] = center

    heights = lm[152, 1] + np.array([10.0, -10.0, -35.0, -60.0, -95.0]) * MM  # from inside the head down
    azimuth = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    axis_z = center[2] + 5 * MM  # the throat about 40 mm behind the chin
    ring = np.column_stack([52 * MM * np.sin(azimuth), np.zeros(24), axis_z + 45 * MM * np.cos(azimuth)])
    verts = np.vstack([ring + [0.0, y, 0.0] for y in heights])
    start = asm.count
    index = start + np.arange(len(verts)).reshape(len(heights), 24)
    tris = np.concatenate([ring_strip(index[k], index[k + 1]) for k in range(len(heights) - 1)])
    full = np.vstack([np.zeros((start, 3)), verts])
    tris = orient(full, tris, full[tris].mean(1) * [0.0, 1.0, 0.0] + [0.0, 0.0, axis_z])
    asm.add("neck", verts, tris, SKIN, head=np.repeat([1.0, 0.85, 0.5, 0.2, 0.0], 24))
    points["head_pivot"] = np.array([0.0, lm[152, 1] + 15 * MM, axis_z])  # about the top of the neck
