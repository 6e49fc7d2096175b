"""glTF 2.0 binary (GLB): the face mesh with 52 named morph targets, the BEAT skeleton with a skinned capsule body,
and their animations; and reading our own GLB files back into tracks.

Face file: a ``head`` node (at the neck pivot; its rotation animates head yaw/pitch/roll) holding the ``face`` mesh
node (morph-target weights animated, target names in ``mesh.extras.targetNames`` as three.js, Blender and glTFast
read them) and two empty ``leftEye``/``rightEye`` nodes at the eye centres whose rotations carry the gaze.
Body file: one node per joint (translation = rest offset, rotation animated, root translation animated), a skin,
and a capsule per bone rigidly bound to its parent joint. Units are metres (BEAT's centimetres scaled by 0.01).
What glTF cannot say (Euler channel orders, the file's units) is kept in the scene's ``extras`` so our files read
back exactly.
"""

from __future__ import annotations

import os

import numpy as np
import pygltflib as gl

from rigs.body.capsules import capsule_body
from rigs.errors import RigInputError
from rigs.face.arkit import BLENDSHAPES, head_angles, head_rotation
from rigs.face.mesh_parts import LEFT, RIGHT
from rigs.face.track import FaceTrack, weights_by_name
from rigs.fileio import atomic_path
from rigs.rotations import quat_from_matrix, quat_to_matrix

_COMPONENT = {np.dtype(np.float32): gl.FLOAT, np.dtype(np.uint32): gl.UNSIGNED_INT,
              np.dtype(np.uint16): gl.UNSIGNED_SHORT, np.dtype(np.uint8): gl.UNSIGNED_BYTE}
_TYPE = {1: gl.SCALAR, 2: gl.VEC2, 3: gl.VEC3, 4: gl.VEC4, 16: gl.MAT4}
_NUMPY = {gl.FLOAT: np.float32, gl.UNSIGNED_INT: np.uint32, gl.UNSIGNED_SHORT: np.uint16, gl.UNSIGNED_BYTE: np.uint8}
_WIDTH = {gl.SCALAR: 1, gl.VEC2: 2, gl.VEC3: 3, gl.VEC4: 4, gl.MAT4: 16}


class _Builder:
    """Accumulates one binary buffer and the accessors into it."""

    def __init__(self) -> None:
        self.gltf = gl.GLTF2(asset=gl.Asset(version="2.0", generator="avatar-engine"))
        self.blob = bytearray()

    def accessor(self, array: np.ndarray, *, target: int | None = None, bounds: bool = False) -> int:
        array = np.ascontiguousarray(array)
        width = int(np.prod(array.shape[1:])) if array.ndim > 1 else 1
        self.blob.extend(b"\0" * (-len(self.blob) % 4))  # glTF wants 4-byte aligned views
        view = gl.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=array.nbytes, target=target)
        self.blob.extend(array.tobytes())
        self.gltf.bufferViews.append(view)
        flat = array.reshape(len(array), width)
        accessor = gl.Accessor(bufferView=len(self.gltf.bufferViews) - 1, componentType=_COMPONENT[array.dtype],
                               count=len(array), type=_TYPE[width])
        if bounds:
            accessor.min, accessor.max = flat.min(0).tolist(), flat.max(0).tolist()
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def node(self, **fields) -> int:
        self.gltf.nodes.append(gl.Node(**fields))
        return len(self.gltf.nodes) - 1

    def save(self, path: str | os.PathLike) -> None:
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        self.gltf.buffers = [gl.Buffer(byteLength=len(self.blob))]
        self.gltf.set_binary_blob(bytes(self.blob))
        with atomic_path(path) as tmp:
            self.gltf.save_binary(str(tmp))


def _xyzw(matrices: np.ndarray) -> np.ndarray:
    """glTF quaternions (x, y, z, w) of rotation matrices, sign-continuous over time."""
    q = quat_from_matrix(matrices)
    flip = np.cumprod(np.where(np.sum(q[1:] * q[:-1], -1) < 0, -1.0, 1.0))
    q[1:] *= flip[:, None]
    return np.ascontiguousarray(q[:, [1, 2, 3, 0]], dtype=np.float32)


def _vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    corners = vertices[triangles]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, triangles[:, k], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(length > 1e-12, normals / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])
    return normals.astype(np.float32)


def _times(builder: _Builder, n_frames: int, fps: float) -> int:
    return builder.accessor((np.arange(n_frames) / fps).astype(np.float32), bounds=True)


def _sampler(animation: gl.Animation, times: int, values: int, node: int, path: str) -> None:
    animation.samplers.append(gl.AnimationSampler(input=times, output=values, interpolation="LINEAR"))
    animation.channels.append(gl.AnimationChannel(sampler=len(animation.samplers) - 1,
                                                  target=gl.AnimationChannelTarget(node=node, path=path)))


def write_face_glb(track: FaceTrack, path: str | os.PathLike, mesh=None) -> None:
    """Write the face mesh with 52 named morph targets and the track's weights, head and gaze animation."""
    if mesh is None:
        from rigs.face.mesh import load_face_mesh  # the mesh data loads only when a GLB is written

        mesh = load_face_mesh()
    if track.n_frames < 1:
        raise RigInputError("face track has no frames; nothing to animate")
    b = _Builder()
    vertices = mesh.vertices.astype(np.float32)
    pivot = np.asarray(mesh.head_pivot, np.float32)
    attributes = gl.Attributes(
        POSITION=b.accessor(vertices, target=gl.ARRAY_BUFFER, bounds=True),
        NORMAL=b.accessor(_vertex_normals(vertices, mesh.triangles), target=gl.ARRAY_BUFFER),
        TEXCOORD_0=b.accessor(mesh.uvs.astype(np.float32), target=gl.ARRAY_BUFFER),
        COLOR_0=b.accessor(mesh.colors.astype(np.float32), target=gl.ARRAY_BUFFER),
    )
    targets = [{"POSITION": b.accessor(delta.astype(np.float32), target=gl.ARRAY_BUFFER, bounds=True)}
               for delta in mesh.deltas]
    indices = b.accessor(mesh.triangles.astype(np.uint32).reshape(-1), target=gl.ELEMENT_ARRAY_BUFFER)
    material = gl.Material(name="skin", pbrMetallicRoughness=gl.PbrMetallicRoughness(
        baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=0.6))
    b.gltf.materials.append(material)
    primitive = gl.Primitive(attributes=attributes, indices=indices, material=0, targets=targets)
    b.gltf.meshes.append(gl.Mesh(name="face", primitives=[primitive], weights=[0.0] * len(BLENDSHAPES),
                                 extras={"targetNames": list(BLENDSHAPES)}))

    face = b.node(name="face", mesh=0, translation=(-pivot).tolist())
    # mesh.eye_centers holds the right eye first; each node sits on the eye its name says (left at +X).
    eyes = [b.node(name=name, translation=(np.asarray(mesh.eye_centers[side]) - pivot).tolist())
            for name, side in (("leftEye", LEFT), ("rightEye", RIGHT))]
    head = b.node(name="head", translation=pivot.tolist(), children=[face, *eyes])
    b.gltf.scenes.append(gl.Scene(name="face", nodes=[head], extras={"fps": track.fps}))
    b.gltf.scene = 0

    animation = gl.Animation(name="face")
    times = _times(b, track.n_frames, track.fps)
    _sampler(animation, times, b.accessor(track.weights.astype(np.float32).reshape(-1)), face, "weights")
    _sampler(animation, times, b.accessor(_xyzw(head_rotation(*track.head.T))), head, "rotation")
    for node, (yaw, pitch) in zip(eyes, (track.gaze[:, :2].T, track.gaze[:, 2:].T), strict=True):
        _sampler(animation, times, b.accessor(_xyzw(head_rotation(yaw, pitch, 0.0 * yaw))), node, "rotation")
    b.gltf.animations.append(animation)
    b.save(path)


# ---------------------------------------------------------------------------------------------------- reading


class _Reader:
    def __init__(self, path: str | os.PathLike) -> None:
        try:
            self.gltf = gl.GLTF2().load(str(path))
        except Exception as error:  # pygltflib raises many kinds on a corrupt file
            raise RigInputError(f"cannot read GLB {path}: {error}") from error
        if self.gltf is None:
            raise RigInputError(f"cannot read GLB {path}: not a glTF file")
        self.path = path
        self.blob = self.gltf.binary_blob()

    def array(self, index: int) -> np.ndarray:
        accessor = self.gltf.accessors[index]
        view = self.gltf.bufferViews[accessor.bufferView]
        width = _WIDTH[accessor.type]
        dtype = np.dtype(_NUMPY[accessor.componentType])
        start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
        data = np.frombuffer(self.blob, dtype=dtype, count=accessor.count * width, offset=start)
        return data.reshape(accessor.count, width) if width > 1 else data.copy()

    def node_index(self, name: str) -> int | None:
        return next((i for i, node in enumerate(self.gltf.nodes) if node.name == name), None)

    def channels(self) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
        """(node, path) -> (times, values) over all animations."""
        found = {}
        for animation in self.gltf.animations:
            for channel in animation.channels:
                sampler = animation.samplers[channel.sampler]
                found[(channel.target.node, channel.target.path)] = (self.array(sampler.input),
                                                                     self.array(sampler.output))
        return found

    def fps(self, times: np.ndarray) -> float:
        extras = self.gltf.scenes[self.gltf.scene or 0].extras or {}
        if "fps" in extras:
            return float(extras["fps"])
        if len(times) < 2:
            raise RigInputError(f"{self.path}: a one-frame animation has no frame rate")
        return float(np.round(1.0 / np.median(np.diff(times)), 3))


def _wxyz(xyzw: np.ndarray) -> np.ndarray:
    return np.asarray(xyzw, np.float64)[:, [3, 0, 1, 2]]


def read_face_glb(path: str | os.PathLike) -> FaceTrack:
    """Read the face animation (morph weights, head and gaze rotations) of a face GLB."""
    reader = _Reader(path)
    channels = reader.channels()
    weighted = [(node, values) for (node, kind), (_, values) in channels.items() if kind == "weights"]
    if not weighted:
        raise RigInputError(f"{path} has no morph-target weight animation; is it a face GLB?")
    node, values = weighted[0]
    mesh = reader.gltf.meshes[reader.gltf.nodes[node].mesh]
    names = (mesh.extras or {}).get("targetNames")
    if not names:
        raise RigInputError(f"{path}: the animated mesh has no targetNames; cannot tell which morph is which")
    times = channels[(node, "weights")][0]
    values = values.reshape(len(times), len(names))
    weights = weights_by_name(values, names, str(path))
    head = np.zeros((len(times), 3))
    gaze = np.zeros((len(times), 4))
    head_node = reader.node_index("head")
    if (head_node, "rotation") in channels:
        head = head_angles(quat_to_matrix(_wxyz(channels[(head_node, "rotation")][1])))
    for k, name in enumerate(("leftEye", "rightEye")):
        eye = reader.node_index(name)
        if (eye, "rotation") in channels:
            gaze[:, 2 * k: 2 * k + 2] = head_angles(quat_to_matrix(_wxyz(channels[(eye, "rotation")][1])))[:, :2]
    return FaceTrack(np.clip(weights, 0, 1), reader.fps(times), head, gaze)


# ---------------------------------------------------------------------------------------------------- body

_METRES_PER_UNIT = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}
def write_body_glb(track, path: str | os.PathLike) -> None:
    """Write the skeleton, a skinned capsule body and the track's joint-rotation animation."""
    skeleton = track.skeleton
    if skeleton.units not in _METRES_PER_UNIT:
        raise RigInputError(f"skeleton units {skeleton.units!r} unknown; use one of {', '.join(_METRES_PER_UNIT)}")
    scale = _METRES_PER_UNIT[skeleton.units]
    b = _Builder()
    rest = skeleton.rest_positions().astype(np.float64) * scale
    rest += (track.root_positions[0] - skeleton.offsets[0]) * scale  # bind where the animation starts

    vertices, triangles, owners = capsule_body(skeleton, rest, scale)
    skin_joints = np.zeros((len(vertices), 4), np.uint8)
    skin_joints[:, 0] = owners
    skin_weights = np.zeros((len(vertices), 4), np.float32)
    skin_weights[:, 0] = 1.0
    attributes = gl.Attributes(
        POSITION=b.accessor(vertices, target=gl.ARRAY_BUFFER, bounds=True),
        NORMAL=b.accessor(_vertex_normals(vertices, triangles), target=gl.ARRAY_BUFFER),
        JOINTS_0=b.accessor(skin_joints, target=gl.ARRAY_BUFFER),
        WEIGHTS_0=b.accessor(skin_weights, target=gl.ARRAY_BUFFER),
    )
    indices = b.accessor(triangles.astype(np.uint32).reshape(-1), target=gl.ELEMENT_ARRAY_BUFFER)
    b.gltf.materials.append(gl.Material(name="body", pbrMetallicRoughness=gl.PbrMetallicRoughness(
        baseColorFactor=[0.55, 0.62, 0.75, 1.0], metallicFactor=0.0, roughnessFactor=0.7)))
    b.gltf.meshes.append(gl.Mesh(name="body", primitives=[gl.Primitive(attributes=attributes, indices=indices,
                                                                       material=0)]))

    first = len(b.gltf.nodes)
    for j, name in enumerate(skeleton.names):
        children = [first + int(c) for c in np.flatnonzero(skeleton.parents == j)]
        offset = track.root_positions[0] if j == 0 else skeleton.offsets[j]
        b.node(name=name, translation=(np.asarray(offset, np.float64) * scale).tolist(), children=children or None)
    inverse_bind = np.tile(np.eye(4, dtype=np.float32), (skeleton.n_joints, 1, 1))
    inverse_bind[:, :3, 3] = -rest
    # glTF matrices are column-major: the transpose's rows are the columns.
    b.gltf.skins.append(gl.Skin(name="skeleton", joints=list(range(first, first + skeleton.n_joints)), skeleton=first,
                                inverseBindMatrices=b.accessor(inverse_bind.transpose(0, 2, 1).reshape(-1, 16))))
    body = b.node(name="body", mesh=0, skin=0)
    b.gltf.scenes.append(gl.Scene(name="body", nodes=[first, body],
                                  extras={"fps": track.fps, "skeleton": skeleton.to_dict()}))
    b.gltf.scene = 0

    animation = gl.Animation(name="body")
    times = _times(b, track.n_frames, track.fps)
    quaternions = track.quaternions().astype(np.float64)
    for j in range(skeleton.n_joints):
        _sampler(animation, times, b.accessor(_xyzw(quat_to_matrix(quaternions[:, j]))), first + j, "rotation")
    root = (track.root_positions.astype(np.float64) * scale).astype(np.float32)
    _sampler(animation, times, b.accessor(root), first, "translation")
    b.gltf.animations.append(animation)
    b.save(path)


def read_body_glb(path: str | os.PathLike):
    """Read the skeleton and joint-rotation animation of a body GLB (ours, or any single skin)."""
    from rigs.body.skeleton import Skeleton
    from rigs.body.track import BodyTrack

    reader = _Reader(path)
    gltf = reader.gltf
    if not gltf.skins:
        raise RigInputError(f"{path} has no skin; is it a body GLB?")
    nodes = gltf.skins[0].joints
    extras = gltf.scenes[gltf.scene or 0].extras or {}
    if "skeleton" in extras:
        skeleton = Skeleton.from_dict(extras["skeleton"])
    else:  # someone else's skin: rebuild the hierarchy from the nodes, in metres
        parent_of = {child: i for i, node in enumerate(gltf.nodes) for child in (node.children or [])}
        parents = [nodes.index(parent_of[n]) if parent_of.get(n) in nodes else -1 for n in nodes]
        offsets = [gltf.nodes[n].translation or [0.0, 0.0, 0.0] for n in nodes]
        channels = [("Xposition", "Yposition", "Zposition") * (p < 0) + ("Zrotation", "Xrotation", "Yrotation")
                    for p in parents]
        skeleton = Skeleton(tuple(gltf.nodes[n].name or f"joint{k}" for k, n in enumerate(nodes)), np.array(parents),
                            np.array(offsets), tuple(channels), {}, "m")
    scale = _METRES_PER_UNIT.get(skeleton.units, 1.0)
    channels = reader.channels()
    timed = [channels[(n, "rotation")][0] for n in nodes if (n, "rotation") in channels]
    if not timed:
        raise RigInputError(f"{path} has no joint-rotation animation")
    times = timed[0]
    quaternions = np.tile([1.0, 0.0, 0.0, 0.0], (len(times), len(nodes), 1))
    for k, n in enumerate(nodes):
        if (n, "rotation") in channels:
            quaternions[:, k] = _wxyz(channels[(n, "rotation")][1])
    if (nodes[0], "translation") in channels:
        root = channels[(nodes[0], "translation")][1] / scale
    else:
        root = np.tile(np.asarray(gltf.nodes[nodes[0]].translation or [0.0, 0.0, 0.0]) / scale, (len(times), 1))
    return BodyTrack.from_quaternions(skeleton, quaternions, root, reader.fps(times))


def read_glb(path: str | os.PathLike):
    """Read a face GLB (morph animation) or a body GLB (skin animation) into its track."""
    reader = _Reader(path)
    return read_body_glb(path) if reader.gltf.skins else read_face_glb(path)
