"""The same speech and seed render the same face and body files as before the redesign of issue 22 (commit
da8bb87; tests/render_fixture.py made the fixture and says how), with the learned and the procedural generator.

Compared as numbers, not bytes: a float computed on another CPU may differ in its last bits (SIMD), so face.csv
may differ by FACE_TOLERANCE (weights in [0, 1], normalised head and eye angles) and body.bvh by BODY_TOLERANCE
(centimetres and degrees), far below what anyone could see; the CSV header and the BVH hierarchy must match
exactly. About 15 s (one process renders both).
"""

from __future__ import annotations

import numpy as np
import pytest
from render_fixture import FIXTURE, RENDERS, REPOSITORY, render

FACE_TOLERANCE = 1e-3
BODY_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, np.ndarray]:
    return render(REPOSITORY, tmp_path_factory.mktemp("render"))


@pytest.mark.parametrize("generator", RENDERS)
def test_seed_renders_the_files_it_rendered_before_the_redesign(rendered, generator):
    before = np.load(FIXTURE)
    assert str(rendered[f"{generator}_face_header"]) == str(before[f"{generator}_face_header"])
    assert str(rendered[f"{generator}_bvh_hierarchy"]) == str(before[f"{generator}_bvh_hierarchy"])
    np.testing.assert_allclose(rendered[f"{generator}_face"], before[f"{generator}_face"], rtol=0, atol=FACE_TOLERANCE)
    np.testing.assert_allclose(rendered[f"{generator}_body"], before[f"{generator}_body"], rtol=0, atol=BODY_TOLERANCE)
