"""The 52 ARKit blendshapes of the face mesh, each a small function of the neutral geometry.

A shape moves the skin landmarks (handles with a smooth harmonic falloff over the mesh, or a masked field),
the jaw (a rigid move of everything the jaw carries), the eyeballs (rotations) and the tongue. Parts glued to
landmarks (eye sockets, the mouth cavity, the head shell) then follow. Sided shapes are written once for the
character's left (+X) and mirrored for the right, so each pair is exactly symmetric; centre shapes are symmetrised.
Magnitudes aim at a real ARKit face at weight 1 (millimetres and degrees in the code).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.sparse import csr_matrix

from rigs.face.arkit import BLENDSHAPES, N_BLENDSHAPES
from rigs.face.mesh_parts import LEFT, MM, RIGHT, Assembly, enclosed, reflect, smoothstep

N_SKIN = 468
JAW_OPEN_DEGREES = 18.0  # ARKit's jawOpen at 1 is a wide-open mouth, about 25-30 mm between the incisors
Vec = tuple[float, float, float]


def mm(x: float, y: float, z: float) -> np.ndarray:
    """A displacement given in millimetres, in metres."""
    return np.array([x, y, z]) * MM


def rotation_x(degrees: float) -> np.ndarray:
    """Rotation about +X (positive turns +Z toward -Y: the jaw opens, the eye looks down)."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rotation_y(degrees: float) -> np.ndarray:
    """Rotation about +Y (positive turns +Z toward +X: toward the character's left)."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


class Rig:
    """The neutral face with its regions and the building blocks the shapes are written with."""

    def __init__(self, vertices: np.ndarray, asm: Assembly, points: dict, loops: dict):
        self.p = np.asarray(vertices, np.float64)
        self.skin_p = self.p[:N_SKIN]
        self.points, self.loops = points, loops
        self.parts = asm.parts
        self.anchor, self.follow = asm.array("anchor"), asm.array("follow")
        self.jaw_share, self.eye = asm.array("jaw").astype(np.float64), asm.array("eye")
        triangles = np.concatenate(asm.triangles)
        self.skin_triangles = triangles[np.all(triangles < N_SKIN, axis=1)]
        laplacian = csr_matrix(self._graph_laplacian())
        self._operators = {False: laplacian, True: laplacian @ laplacian}  # harmonic, biharmonic (`harmonic`)

        loop, outer = loops["lips_inner"], loops["lips_outer"]
        half = len(loop) // 2
        contour_corners = np.array([outer[0], outer[half], loop[0], loop[half]])
        self.lips = enclosed(self.skin_triangles, outer, loop)
        upper_contours = np.concatenate([loop[1:half], outer[1:half]])
        lower_contours = np.concatenate([loop[half + 1:], outer[half + 1:]])
        fixed = np.concatenate([upper_contours, lower_contours, contour_corners])
        self.upperness = self.harmonic(
            fixed, np.concatenate([np.ones(len(upper_contours)), np.zeros(len(lower_contours)), np.full(4, 0.5)]),
            free=np.setdiff1d(self.lips, fixed))
        # The corner cluster: where the lip rings meet at each side, neither upper nor lower lip.
        self.corners = self.lips[np.abs(self.upperness[self.lips] - 0.5) < 0.15]
        self.upper_lip = np.setdiff1d(self.lips[self.upperness[self.lips] > 0.5], self.corners)
        self.lower_lip = np.setdiff1d(self.lips[self.upperness[self.lips] < 0.5], self.corners)
        self.left_corner = self.corners[self.skin_p[self.corners, 0] > 0]
        self.right_corner = self.corners[self.skin_p[self.corners, 0] < 0]
        # 0 on the inner contour (where the lips meet), 1 on the outer contour (the vermilion border).
        self.lip_depth = self.harmonic(np.concatenate([loop, outer]), np.r_[np.zeros(len(loop)), np.ones(len(outer))],
                                       free=np.setdiff1d(self.lips, np.concatenate([loop, outer])))
        self.stomion = points["stomion"]
        self._smooth_corners = self._corner_smoother()
        self.jaw_weight = self._jaw_weight()
        self.jaw_share[:N_SKIN] = self.jaw_weight

    # ----- building blocks -----

    def _graph_laplacian(self) -> np.ndarray:
        """The skin's graph Laplacian with inverse-edge-length weights."""
        t = self.skin_triangles
        edges = np.unique(np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), axis=1), axis=0)
        weight = 1.0 / np.linalg.norm(self.skin_p[edges[:, 0]] - self.skin_p[edges[:, 1]], axis=1)
        adjacency = np.zeros((N_SKIN, N_SKIN))
        adjacency[edges[:, 0], edges[:, 1]] = adjacency[edges[:, 1], edges[:, 0]] = weight
        self._average = adjacency / adjacency.sum(1, keepdims=True)  # each vertex's weighted neighbour mean
        return np.diag(adjacency.sum(1)) - adjacency

    def harmonic(self, fixed, values, free, smooth: bool = False) -> np.ndarray:
        """A field over the skin: `values` at `fixed` vertices, interpolated over `free` ones, zero elsewhere.

        Harmonic, or biharmonic with `smooth` (no kinks at the handles, so small triangles there do not fold).
        """
        fixed, free = np.asarray(fixed), np.setdiff1d(np.asarray(free), fixed)
        values = np.asarray(values, np.float64)
        field = np.zeros((N_SKIN,) + values.shape[1:])
        field[fixed] = values
        if len(free):
            from scipy.sparse.linalg import splu  # here: its import costs a page's start-up 0.3 s

            rows = self._operators[smooth][free]  # sparse LU: the face's 30 solves in 30 ms instead of half a second
            rhs = -(rows @ field.reshape(N_SKIN, -1))
            solved = splu(rows[:, free].tocsc()).solve(rhs)
            field[free] = np.asarray(solved).reshape((len(free),) + values.shape[1:])
        return field

    def spread(self, handles: list, radius: float, center=None, still=()) -> np.ndarray:
        """Skin displacements: given at handle vertices, fading smoothly to zero `radius` metres from the centre.

        ``handles`` pairs vertex indices with (k, 3) or (3,) displacements; ``still`` vertices stay put.
        """
        index = np.concatenate([np.atleast_1d(k) for k, _ in handles])
        values = np.concatenate([np.broadcast_to(v, (len(np.atleast_1d(k)), 3)) for k, v in handles])
        center = self.skin_p[index].mean(0) if center is None else np.asarray(center)
        inside = np.flatnonzero(np.linalg.norm(self.skin_p - center, axis=1) < radius)
        still = np.setdiff1d(np.asarray(still, np.int64), index)
        fixed = np.concatenate([index, still])
        return self.harmonic(fixed, np.vstack([values, np.zeros((len(still), 3))]), np.setdiff1d(inside, fixed),
                             smooth=True)

    def falloff(self, center, radii) -> np.ndarray:
        """A smooth bump over the skin: 1 at `center`, 0 beyond the ellipsoid `radii` (metres)."""
        d2 = np.sum(((self.skin_p - np.asarray(center)) / np.asarray(radii)) ** 2, axis=1)
        return np.clip(1 - d2, 0.0, None) ** 2

    def left(self, width: float = 8 * MM) -> np.ndarray:
        """1 on the character's left of the skin, 0 on the right, blending across the midline."""
        return smoothstep(-width, width, self.skin_p[:, 0])

    def skin(self, displacement: np.ndarray) -> np.ndarray:
        """A whole-mesh delta that moves only the skin landmarks."""
        delta = np.zeros_like(self.p)
        delta[:N_SKIN] = displacement
        return delta

    def jaw_rigid(self, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
        """Every vertex's displacement were it fixed to the jaw, turned about the hinge and translated."""
        hinge = self.points["jaw_hinge"]
        return (self.p - hinge) @ rotation.T + hinge + translation - self.p

    def jaw(self, rotation: np.ndarray | None = None, translation: np.ndarray | None = None) -> np.ndarray:
        """A whole-mesh delta moving what the jaw carries (the skin by its jaw weight) rigidly about the hinge."""
        rotation = np.eye(3) if rotation is None else rotation
        translation = np.zeros(3) if translation is None else translation
        return self.jaw_share[:, None] * self.jaw_rigid(rotation, translation)

    @staticmethod
    def jaw_drop(degrees: float) -> tuple[np.ndarray, np.ndarray]:
        """The jaw's pose when dropped by an angle: a turn about the hinge plus the condyles' glide forward."""
        glide = degrees / 20.0  # the condyles slide forward down the eminence: the incisors drop more than retract
        return rotation_x(degrees), mm(0.0, -2.0 * glide, 9.0 * glide)

    def eye_turn(self, side: int, yaw: float = 0.0, pitch: float = 0.0) -> np.ndarray:
        """A whole-mesh delta turning one eyeball and its iris landmarks (degrees, signs as in rigs.face.arkit)."""
        center = self.points["eye_left" if side == LEFT else "eye_right"]
        rotation = rotation_y(yaw) @ rotation_x(pitch)
        delta = np.zeros_like(self.p)
        index = self.eye == side
        delta[index] = (self.p[index] - center) @ rotation.T + center - self.p[index]
        return delta

    def tongue(self, displacement: np.ndarray) -> np.ndarray:
        """A whole-mesh delta moving only the tongue's vertices."""
        delta = np.zeros_like(self.p)
        delta[self.parts["tongue"]] = displacement
        return delta

    def lids(self, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Upper-lid landmarks (outer to inner), the lower-lid landmark under each, and the two corners."""
        loop = self.loops["eye_left" if side == LEFT else "eye_right"]
        return loop[1:8], loop[15:8:-1], loop[[0, 8]]

    def finish(self, delta: np.ndarray) -> np.ndarray:
        """The delta with the mouth corners moving as one and glued parts following (sockets, mouth bag, head)."""
        delta = delta.copy()
        delta[:N_SKIN] = self._smooth_corners @ delta[:N_SKIN]
        glued = self.anchor >= 0
        share = self.follow[glued, None]
        delta[glued] = share * delta[self.anchor[glued]] + (1 - share) * delta[glued]
        return delta

    def _corner_smoother(self, radius: float = 4.5 * MM, steps: int = 8) -> np.ndarray:
        """A linear map relaxing skin deltas toward their neighbours' around the mouth corners (where tiny triangles
        would otherwise fold) and leaving the rest alone."""
        center = self.skin_p[self.corners]
        distance = np.min(np.linalg.norm(self.skin_p[:, None] - center[None], axis=2), axis=1)
        blend = (smoothstep(radius, 0.0, distance) * 0.8)[:, None]
        step = (1 - blend) * np.eye(N_SKIN) + blend * self._average
        return np.linalg.matrix_power(step, steps)

    def _jaw_weight(self) -> np.ndarray:
        """How much of the jaw's motion each skin landmark takes: 1 on the chin and lower lip, 0 above the mouth."""
        p, st = self.skin_p, self.stomion
        # The lip line rises from the mouth corners toward the jaw hinge in front of the ears.
        line = st[1] + 0.45 * np.clip(np.abs(p[:, 0]) - 26 * MM, 0.0, None)
        middle = np.abs(p[:, 0]) < 14 * MM  # toward the corners the lips blend, so their small triangles never fold
        lower = np.r_[self.lower_lip[middle[self.lower_lip]], np.flatnonzero(p[:, 1] < line - 14 * MM)]
        upper = np.r_[self.upper_lip[middle[self.upper_lip]], np.flatnonzero(p[:, 1] > line + 10 * MM)]
        fixed = np.r_[lower, upper, self.corners]
        values = np.r_[np.ones(len(lower)), np.zeros(len(upper)), np.full(len(self.corners), 0.4)]
        return self.harmonic(fixed, values, np.arange(N_SKIN))


# ----- the 52 shapes: each returns a whole-mesh delta; sided ones are written for the character's left -----

SHAPES: dict[str, Callable[[Rig], np.ndarray]] = {}


def shape(*names: str):
    """Register a shape definition under one or more names (a sided definition under its Left name)."""
    def register(function):
        for name in names:
            SHAPES[name] = function
        return function
    return register


def lid_close(r: Rig, side: int, amount: float, lower_share: float = 0.2) -> np.ndarray:
    """Upper and lower lids brought together (amount 1: closed), the closed lid kept in front of the eyeball."""
    upper, lower, corners = r.lids(side)
    meet = r.p[lower] + lower_share * (r.p[upper] - r.p[lower])
    center = r.points["eye_left" if side == LEFT else "eye_right"]
    lateral = np.sum((meet[:, :2] - center[:2]) ** 2, axis=1)
    ball = center[2] + np.sqrt(np.clip((12.0 * MM) ** 2 - lateral, 0.0, None))
    meet[:, 2] = np.maximum(meet[:, 2], ball + 1.5 * MM)
    handles = [(upper, amount * (meet - r.p[upper])), (lower, amount * (meet - r.p[lower])), (corners, np.zeros(3))]
    return r.skin(r.spread(handles, 20 * MM, center, still=r.loops["brow_left" if side == LEFT else "brow_right"]))


def lid_shift(r: Rig, side: int, upper: Vec, lower: Vec) -> np.ndarray:
    """Lids moved (mm), most in their middle, fading over the surrounding skin."""
    up, low, corners = r.lids(side)
    middle = np.sin(np.linspace(0.2, np.pi - 0.2, len(up)))[:, None]  # lid margins move most in the middle
    center = r.points["eye_left" if side == LEFT else "eye_right"]
    handles = [(up, middle * mm(*upper)), (low, middle * mm(*lower)), (corners, 0.3 * (mm(*upper) + mm(*lower)) / 2)]
    return r.skin(r.spread(handles, 20 * MM, center))


@shape("eyeBlinkLeft")
def eye_blink(r: Rig) -> np.ndarray:
    return lid_close(r, LEFT, 1.0)


@shape("eyeLookDownLeft")
def eye_look_down(r: Rig) -> np.ndarray:
    return r.eye_turn(LEFT, pitch=25) + lid_shift(r, LEFT, upper=(0, -3.5, 0.3), lower=(0, -1.0, 0))


@shape("eyeLookInLeft")
def eye_look_in(r: Rig) -> np.ndarray:
    return r.eye_turn(LEFT, yaw=-30) + lid_shift(r, LEFT, upper=(-0.8, 0, 0), lower=(-0.6, 0, 0))


@shape("eyeLookOutLeft")
def eye_look_out(r: Rig) -> np.ndarray:
    return r.eye_turn(LEFT, yaw=30) + lid_shift(r, LEFT, upper=(0.8, 0, 0), lower=(0.6, 0, 0))


@shape("eyeLookUpLeft")
def eye_look_up(r: Rig) -> np.ndarray:
    return r.eye_turn(LEFT, pitch=-25) + lid_shift(r, LEFT, upper=(0, 2.2, -0.6), lower=(0, 0.8, 0))


@shape("eyeSquintLeft")
def eye_squint(r: Rig) -> np.ndarray:
    # Lid tightener: the lower lid rises and straightens, the upper lid drops a little, the cheek below bunches.
    cheek = r.falloff(r.points["eye_left"] + mm(0, -14, 12), mm(16, 10, 14))[:, None] * mm(0, 1.5, 0.5)
    return lid_close(r, LEFT, 0.4, lower_share=0.75) + r.skin(cheek)


@shape("eyeWideLeft")
def eye_wide(r: Rig) -> np.ndarray:
    return lid_shift(r, LEFT, upper=(0, 3.2, -0.8), lower=(0, -0.8, 0))


def brow_handle(r: Rig, side: int, lift: Callable[[np.ndarray], np.ndarray], motion: Vec) -> tuple:
    """One brow's landmarks and their motion: `motion` (mm) scaled by lift(distance from the midline in mm)."""
    index = r.loops["brow_left" if side == LEFT else "brow_right"]
    scale = lift(np.abs(r.skin_p[index, 0]) / MM)[:, None]
    return index, scale * mm(*motion) * [np.sign(r.skin_p[index[0], 0]), 1, 1]


def brow(r: Rig, side: int, lift: Callable[[np.ndarray], np.ndarray], motion: Vec) -> np.ndarray:
    """One brow moved by `motion` (mm) scaled per brow landmark by lift(distance from the midline in mm)."""
    eye = r.loops["eye_left" if side == LEFT else "eye_right"]
    return r.spread([brow_handle(r, side, lift, motion)], 32 * MM, still=eye)


def inner_end(x_mm: np.ndarray) -> np.ndarray:
    return smoothstep(50.0, 14.0, x_mm)


def outer_end(x_mm: np.ndarray) -> np.ndarray:
    return 0.15 + 0.85 * smoothstep(25.0, 55.0, x_mm)


@shape("browDownLeft")
def brow_down(r: Rig) -> np.ndarray:
    # Corrugator and depressors: the brow drops, most at its inner end, and draws toward the nose.
    return r.skin(brow(r, LEFT, lambda x: 0.45 + 0.55 * inner_end(x), (-1.5, -5.5, 1.0)))


NOSE_BRIDGE = (168, 6, 197, 195, 5, 4, 1)  # the midline from between the eyes to the nose tip


@shape("browInnerUp")
def brow_inner_up(r: Rig) -> np.ndarray:
    # The medial frontalis lifts both inner brows and the skin between them, less and less up to the hairline,
    # where it is anchored in the scalp. One field over both brows: each brow's own (32 mm around it) left the
    # midline still, and the warp folded the forehead into a V between the raised brows. Nose and eyes stay.
    handles = [brow_handle(r, side, inner_end, (-0.5, 7.0, 0.5)) for side in (LEFT, RIGHT)]
    oval = r.loops["face_oval"]
    hairline = oval[r.skin_p[oval, 1] > r.skin_p[handles[0][0], 1].max() + 12 * MM]
    still = np.concatenate([r.loops["eye_left"], r.loops["eye_right"], NOSE_BRIDGE, hairline])
    return r.skin(r.spread(handles, 45 * MM, still=still))


@shape("browOuterUpLeft")
def brow_outer_up(r: Rig) -> np.ndarray:
    return r.skin(brow(r, LEFT, outer_end, (0.3, 6.5, 0.0)))


@shape("cheekPuff")
def cheek_puff(r: Rig) -> np.ndarray:
    # Air in the cheeks: the skin beside the mouth swells outward (away from a vertical axis behind the mouth: the
    # skin's own normals turn too fast at the lip corners); the lips seal and push forward a little.
    radial = (r.skin_p - [0.0, 0.0, r.stomion[2] - 45 * MM]) * [1.0, 0.0, 1.0]
    normals = radial / np.linalg.norm(radial, axis=1, keepdims=True)
    swell = sum(r.falloff(mm(side * 38, -62, -8), mm(26, 24, 30)) for side in (-1, 1))
    swell *= 1.0 - 0.85 * r.falloff(r.stomion, mm(22, 9, 30))  # the lips themselves only seal
    lips = np.zeros((N_SKIN, 3))
    lips[r.lips] = mm(0, 0, 1.5)
    return r.skin(9.0 * MM * swell[:, None] * normals + lips)


@shape("cheekSquintLeft")
def cheek_squint(r: Rig) -> np.ndarray:
    # Cheek raiser: the malar fat pad rises and pushes the lower lid up; the upper lid stays.
    eye = r.points["eye_left"]
    bump = r.falloff(eye + mm(6, -17, 12), mm(26, 20, 24)) * smoothstep(eye[1] - 3 * MM, eye[1] - 9 * MM,
                                                                        r.skin_p[:, 1])
    return r.skin(bump[:, None] * mm(0.8, 5.0, 1.8)) + lid_shift(r, LEFT, upper=(0, 0, 0), lower=(0, 1.5, 0.4))


@shape("noseSneerLeft")
def nose_sneer(r: Rig) -> np.ndarray:
    # Levator labii superioris alaeque nasi: the wing of the nose and the skin beside it pull up; the nose wrinkles.
    wing = r.falloff(mm(19, -40, 14), mm(13, 15, 14))[:, None] * mm(1.2, 5.0, -0.5)
    side = r.falloff(mm(11, -18, 18), mm(10, 16, 14))[:, None] * mm(0.0, 3.0, -1.2)
    lip = r.falloff(mm(12, -60, 16), mm(12, 8, 14))[:, None] * mm(0.0, 2.0, 0.0)
    inner_brow = r.falloff(mm(15, 12, 17), mm(12, 10, 14))[:, None] * mm(0.0, -1.5, 0.0)
    return r.skin(wing + side + lip + inner_brow)


# ----- jaw -----

@shape("jawOpen")
def jaw_open(r: Rig) -> np.ndarray:
    return r.jaw(*r.jaw_drop(JAW_OPEN_DEGREES))


@shape("jawForward")
def jaw_forward(r: Rig) -> np.ndarray:
    return r.jaw(translation=mm(0, -0.5, 6.0))


@shape("jawLeft")
def jaw_left(r: Rig) -> np.ndarray:
    return r.jaw(rotation_y(4.0), mm(5.0, 0, 0))


# ----- mouth -----

def corner_pull(r: Rig, corner: Vec, middle: Vec = (0, 0, 0), extra: tuple = (), radius: float = 40 * MM):
    """The left mouth corner moved (mm), the lips' middle by less, the right corner held, skin fading around."""
    middle_lips = np.intersect1d(r.lips, np.flatnonzero(np.abs(r.skin_p[:, 0]) < 1e-6))
    handles = [(r.left_corner, mm(*corner)), (r.right_corner, np.zeros(3)), (middle_lips, mm(*middle)), *extra]
    return r.skin(r.spread(handles, radius, r.skin_p[r.left_corner].mean(0) * [0.6, 1, 1]))


@shape("mouthSmileLeft")
def mouth_smile(r: Rig) -> np.ndarray:
    # Zygomaticus major: the corner pulled up, out and back; the cheek above it bunches up.
    cheek = np.flatnonzero(r.falloff(mm(36, -48, 4), mm(8, 8, 12)) > 0)
    return corner_pull(r, (6.0, 10.5, -5.0), (1.5, 1.2, -0.3), [(cheek, mm(1.5, 3.5, 1.5))])


@shape("mouthFrownLeft")
def mouth_frown(r: Rig) -> np.ndarray:
    return corner_pull(r, (1.5, -8.0, -1.0), (0.4, -1.0, 0.0))


@shape("mouthDimpleLeft")
def mouth_dimple(r: Rig) -> np.ndarray:
    # Buccinator: the corner tucks back and in against the teeth, leaving a dimple just beside it.
    pit = np.flatnonzero(r.falloff(r.skin_p[291] + mm(7, 0, -2), mm(5, 6, 8)) > 0.2)
    return corner_pull(r, (2.5, 0.5, -6.0), (0.8, 0.0, -0.3), [(pit, mm(0.5, 0.0, -3.5))])


@shape("mouthStretchLeft")
def mouth_stretch(r: Rig) -> np.ndarray:
    # Risorius and platysma: the corner pulled out and down, the left lower lip border (321, 405, 375) with it.
    lower = np.array([321, 405, 375])
    return corner_pull(r, (8.0, -4.0, -2.5), (1.5, -1.0, 0.0), [(lower, mm(3.0, -3.5, -0.5))])


def lips_field(r: Rig, motion: Callable[[np.ndarray], np.ndarray], radius: float = 34 * MM, still=()) -> np.ndarray:
    """Lip landmarks moved by motion(lip landmark indices) (metres), the skin around fading to rest."""
    return r.skin(r.spread([(r.lips, motion(r.lips))], radius, r.stomion, still=still))


def taper(r: Rig, index: np.ndarray) -> np.ndarray:
    """1 in the middle of the lips, fading toward the corners."""
    return smoothstep(27 * MM, 10 * MM, np.abs(r.skin_p[index, 0]))[:, None]


def upper_lower(r: Rig, index: np.ndarray, upper, lower, corner=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Per lip landmark: `upper` for the upper lip, `lower` for the lower lip, `corner` at the corners."""
    out = np.zeros((len(index), 3))
    for group, value in ((r.upper_lip, upper), (r.lower_lip, lower), (r.corners, corner)):
        mask = np.isin(index, group)
        out[mask] = np.broadcast_to(value, (len(index), 3))[mask] if np.ndim(value) == 2 else value
    return out


@shape("mouthPressLeft")
def mouth_press(r: Rig) -> np.ndarray:
    # Lip presser: the lips thin against each other (vermilion rolls toward the lip line), on the left.
    def motion(i):
        depth = r.lip_depth[i][:, None]
        thin = upper_lower(r, i, mm(0, -2.4, -1.0) * depth, mm(0, 2.4, -1.0) * depth)
        return (thin + mm(0, 0, -1.5) * (1 - depth)) * r.left()[i, None] * taper(r, i)
    return lips_field(r, motion, 28 * MM)


@shape("mouthLowerDownLeft")
def mouth_lower_down(r: Rig) -> np.ndarray:
    # Lower lip depressor: the left lower lip pulled down and out, baring the lower teeth.
    def motion(i):
        depth = r.lip_depth[i][:, None]
        down = upper_lower(r, i, 0.0, mm(0.8, -5.5, 0.8) * (1 - 0.15 * depth), mm(0.5, -1.2, 0))
        return down * r.left()[i, None]
    return lips_field(r, motion, 36 * MM)


@shape("mouthUpperUpLeft")
def mouth_upper_up(r: Rig) -> np.ndarray:
    # Upper lip raiser: the left upper lip lifted, baring the upper teeth; the wing of the nose rises a little.
    def motion(i):
        return upper_lower(r, i, mm(0.3, 5.0, 0.5), 0.0, mm(0.4, 1.5, 0)) * r.left()[i, None]
    wing = r.falloff(mm(19, -42, 14), mm(10, 10, 12))[:, None] * mm(0, 1.5, 0)
    return lips_field(r, motion, 30 * MM) + r.skin(wing)


@shape("mouthLeft")
def mouth_left(r: Rig) -> np.ndarray:
    # Both lips slide toward the left, following the curve of the face (the leading corner goes back).
    def motion(i):
        return mm(10.0, 0.0, 0.0) + mm(0, 0, -3.0) * (r.skin_p[i, 0:1] / (26 * MM))
    return lips_field(r, motion, 45 * MM)


@shape("mouthFunnel")
def mouth_funnel(r: Rig) -> np.ndarray:
    # Lip funneler: the lips flare forward around a rounded opening.
    def motion(i):
        x, depth = r.skin_p[i, 0:1], r.lip_depth[i][:, None]
        inward = np.column_stack([-0.45 * x[:, 0], np.zeros(len(i)), np.zeros(len(i))])
        forward = mm(0, 0, 6.0) + mm(0, 0, 3.0) * depth
        opening = upper_lower(r, i, mm(0, 4.0, 0) + mm(0, 1.5, 0) * depth, mm(0, -5.0, 0) - mm(0, 1.5, 0) * depth,
                              mm(0, 0, 3.0))
        return inward + forward + opening
    return lips_field(r, motion, 42 * MM)


@shape("mouthPucker")
def mouth_pucker(r: Rig) -> np.ndarray:
    # Lip pucker (a kiss): the lips gather toward the middle and push forward, still closed.
    def motion(i):
        x, depth = r.skin_p[i, 0:1], r.lip_depth[i][:, None]
        inward = np.column_stack([-0.5 * x[:, 0], np.zeros(len(i)), np.zeros(len(i))])
        forward = mm(0, 0, 8.0) + mm(0, 0, 2.5) * depth
        bunch = upper_lower(r, i, mm(0, -1.0, 0) * depth, mm(0, 1.0, 0) * depth, mm(0, 0, 4.0))
        return inward + forward + bunch
    return lips_field(r, motion, 42 * MM)


def lip_roll(r: Rig, lip: np.ndarray, sign: float) -> np.ndarray:
    """One lip (sign +1 lower, -1 upper) rolled in: its border comes to the lip line, its inner edge goes back."""
    def motion(i):
        depth = r.lip_depth[i][:, None]
        # The vermilion border tucks just past the lip line, behind the other lip, so no gap opens.
        border = np.column_stack([np.zeros(len(i)), r.stomion[1] + sign * 1.5 * MM - r.skin_p[i, 1],
                                  np.full(len(i), -5.0 * MM)])
        edge = mm(0, -sign * 4.0, -7.0)  # the inner edge turns into the mouth
        return np.where(np.isin(i, lip)[:, None], ((1 - depth) * edge + depth * border) * taper(r, i), 0.0)
    return lips_field(r, motion, 30 * MM)


@shape("mouthRollLower")
def mouth_roll_lower(r: Rig) -> np.ndarray:
    # Lip suck: the lower lip rolls in over the teeth, its red part hidden behind the upper lip.
    return lip_roll(r, r.lower_lip, 1.0)


@shape("mouthRollUpper")
def mouth_roll_upper(r: Rig) -> np.ndarray:
    return lip_roll(r, r.upper_lip, -1.0)


@shape("mouthShrugLower")
def mouth_shrug_lower(r: Rig) -> np.ndarray:
    # Chin raiser (mentalis): the chin boss bunches up and pushes the lower lip up and out.
    def motion(i):
        return upper_lower(r, i, 0.0, mm(0, 3.0, 2.5) * taper(r, i))
    chin = r.falloff(mm(0, -95, 6), mm(22, 16, 20))[:, None] * mm(0, 3.0, 1.5)
    return lips_field(r, motion, 24 * MM) + r.skin(chin)


@shape("mouthShrugUpper")
def mouth_shrug_upper(r: Rig) -> np.ndarray:
    def motion(i):
        return upper_lower(r, i, mm(0, 2.5, 2.0) * taper(r, i), 0.0)
    return lips_field(r, motion, 24 * MM)


@shape("mouthClose")
def mouth_close(r: Rig) -> np.ndarray:
    # Lips held together against an open jaw: with jawOpen, upper and lower lip meet across the gap that
    # jawOpen leaves at each point along the mouth (none at the corners), while the chin stays down. The lower lip
    # meets the upper one from just behind, so alone (jaw closed) it slides behind the upper lip, not through it.
    drop = r.jaw_rigid(*r.jaw_drop(JAW_OPEN_DEGREES))[:N_SKIN]  # each skin point's motion were it on the jaw
    w = r.jaw_weight
    loop = r.loops["lips_inner"]
    half = len(loop) // 2
    x = r.skin_p[:, 0]

    def along(contour):  # a lip contour's jaw weight as a function of x
        order = np.argsort(r.skin_p[contour, 0])
        return np.interp(x, r.skin_p[contour, 0][order], w[contour][order])

    upper, lower = along(loop[: half + 1]), along(np.r_[loop[half:], loop[0]])
    gap = lower - upper
    middle = upper + 0.35 * gap  # the lips meet a third of the way down: the lower lip does most of the closing
    side = np.clip((r.skin_p[:, 1] - r.stomion[1]) / (3 * MM), -1.0, 1.0)
    side[r.lips] = 2 * r.upperness[r.lips] - 1
    tuck = np.where(side[:, None] > 0, mm(0, 0, 2.0), mm(0, 0, -7.0)) * np.abs(side)[:, None]
    near = np.flatnonzero(np.linalg.norm(r.skin_p - r.stomion, axis=1) < 45 * MM)
    away = np.flatnonzero(np.abs(r.skin_p[:, 1] - r.stomion[1]) > 18 * MM)
    closeness = r.harmonic(np.r_[r.lips, away], np.r_[np.ones(len(r.lips)), np.zeros(len(away))], near)
    return r.skin(closeness[:, None] * ((middle - w)[:, None] * drop + gap[:, None] * tuck))


@shape("tongueOut")
def tongue_out(r: Rig) -> np.ndarray:
    # The tongue slides out over the lower teeth, tip first and narrowing, with the jaw dropped a little.
    tongue = r.p[r.parts["tongue"]]
    center, radii = r.points["tongue_center"], r.points["tongue_radii"]
    along = smoothstep(-0.6, 1.0, (tongue[:, 2] - center[2]) / radii[2])[:, None]  # 0 at the root, 1 at the tip
    push = along * mm(0, -3.0, 30.0) + along * (tongue - center) * [-0.3, -0.3, 0.0]
    lip = np.zeros((N_SKIN, 3))
    lip[r.upper_lip] = mm(0, 1.5, 0.5)
    return r.jaw(*r.jaw_drop(7.0)) + r.tongue(push) + r.skin(lip)


# ----- assembly -----

SIDEWAYS = {"jawLeft": "jawRight", "mouthLeft": "mouthRight"}


def blendshape_deltas(vertices: np.ndarray, asm: Assembly, points: dict, loops: dict, mirror: np.ndarray) -> np.ndarray:
    """The (52, V, 3) deltas in rigs.face.arkit.BLENDSHAPES order."""
    rig = Rig(vertices, asm, points, loops)
    deltas = np.zeros((N_BLENDSHAPES, len(vertices), 3))
    for index, name in enumerate(BLENDSHAPES):
        if name.endswith("Right") or name in SIDEWAYS.values():
            continue
        delta = rig.finish(SHAPES[name](rig))
        if name.endswith("Left") or name in SIDEWAYS:
            deltas[index] = delta
            partner = SIDEWAYS.get(name, name[: -len("Left")] + "Right")
            deltas[BLENDSHAPES.index(partner)] = reflect(delta, mirror)
        else:
            deltas[index] = (delta + reflect(delta, mirror)) / 2  # centre shapes: exactly symmetric
    return deltas

