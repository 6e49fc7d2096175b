"""The AU geometry read from landmarks (avatar/evaluation/face_geometry.py): each action unit moves its measure the
documented way, and the measures that tell co-occurring AUs apart do."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.evaluation.face_geometry import MEASURES, au_geometry
from generators.talking_head import Portrait
from generators.talking_head.animate import FaceRig
from rigs.face.arkit import INDEX
from rigs.face.track import FaceTrack


@pytest.fixture(scope="module")
def rig() -> FaceRig:
    return FaceRig(Portrait.load(None).fit)


def change(rig: FaceRig, **named: float) -> dict[str, float]:
    """Each measure of the posed face minus the face at rest, head still."""
    weights = np.zeros((2, 52), np.float32)
    for name, value in named.items():
        weights[1, INDEX[name]] = value
    geometry = au_geometry(rig.pose(FaceTrack(weights, 30.0)).landmarks)
    return {name: float(value[1] - value[0]) for name, value in geometry.items()}


def test_each_action_unit_moves_its_measure_its_way(rig):
    assert change(rig, browInnerUp=1.0)["inner_brow"] > 0.02  # AU1
    assert change(rig, browOuterUpLeft=1.0, browOuterUpRight=1.0)["outer_brow"] > 0.02  # AU2
    lowered = change(rig, browDownLeft=1.0, browDownRight=1.0)  # AU4: down and together
    assert lowered["inner_brow"] < -0.02 and lowered["brow_gap"] > 0.01
    assert change(rig, eyeWideLeft=1.0, eyeWideRight=1.0)["eye_aperture"] > 0.01  # AU5
    assert change(rig, cheekSquintLeft=1.0, cheekSquintRight=1.0)["cheek_raise"] > 0.01  # AU6
    smile = change(rig, mouthSmileLeft=1.0, mouthSmileRight=1.0)  # AU12
    assert smile["corner_raise"] > 0.02 and smile["mouth_curve"] > 0.02
    frown = change(rig, mouthFrownLeft=1.0, mouthFrownRight=1.0)  # AU15
    assert frown["corner_raise"] < -0.02 and frown["mouth_curve"] < -0.02
    assert change(rig, jawOpen=1.0)["jaw_drop"] > 0.1  # AU26
    assert set(change(rig)) == set(MEASURES) and not any(change(rig).values())


def test_the_measures_that_tell_co_occurring_units_apart(rig):
    # Fear and sadness: AU1 lifts the inner brow while AU4 lowers it; AU4's drawing together still shows.
    inner_up = change(rig, browInnerUp=1.0)
    assert abs(inner_up["brow_gap"]) < 0.5 * change(rig, browDownLeft=1.0, browDownRight=1.0)["brow_gap"]
    # AU7 (tightened lids) lifts the lower lid but hardly the cheek; AU6 lifts the cheek.
    squint = change(rig, eyeSquintLeft=1.0, eyeSquintRight=1.0)
    assert squint["lower_lid"] > 0.01 and abs(squint["cheek_raise"]) < 0.3 * squint["lower_lid"]
    # An opening jaw carries the lip corners down with the lips' middle: the mouth's curve moves far less.
    jaw = change(rig, jawOpen=1.0)
    assert jaw["corner_raise"] < -0.05 and abs(jaw["mouth_curve"]) < 0.5 * abs(jaw["corner_raise"])
