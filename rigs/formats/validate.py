"""Check GLB files with the Khronos glTF Validator (npm package ``gltf-validator``) and load them with three.js's own
GLTFLoader and AnimationMixer (npm package ``three``), both run by node.

``make setup`` installs both into ``.venv/node`` when node and npm are present; they are optional, since node is not
a Python dependency. ``python -m rigs.formats.validate FILE...`` prints each file's validator summary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

VALIDATOR_VERSION = "2.0.0-dev.3.10"
THREE_VERSION = "0.187.0"  # three.js r187
VALIDATOR_DIR = Path(__file__).resolve().parents[2] / ".venv" / "node"
_SCRIPT = Path(__file__).with_name("validate_gltf.mjs")
_THREE_SCRIPT = Path(__file__).with_name("threejs_probe.mjs")


class ValidatorUnavailable(RuntimeError):
    """node or the gltf-validator package is not installed."""


def validator_available() -> str | None:
    """None when the validator can run, else why not."""
    if shutil.which("node") is None:
        return "node is not installed (the glTF validator runs on node)"
    if not (VALIDATOR_DIR / "node_modules" / "gltf-validator").is_dir():
        return (f"gltf-validator is not installed; run `npm install --prefix {VALIDATOR_DIR} "
                f"gltf-validator@{VALIDATOR_VERSION}` (make setup does this when npm is present)")
    return None


def validate(paths: list[str | os.PathLike]) -> list[dict]:
    """The Khronos validator's report for each file."""
    reason = validator_available()
    if reason:
        raise ValidatorUnavailable(reason)
    command = ["node", str(_SCRIPT), str(VALIDATOR_DIR / "node_modules"), *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"the glTF validator failed: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout)


def threejs_available() -> str | None:
    """None when three.js can load GLB files here, else why not."""
    if shutil.which("node") is None:
        return "node is not installed (three.js runs on node)"
    if not (VALIDATOR_DIR / "node_modules" / "three" / "build" / "three.module.js").is_file():
        return (f"three is not installed; run `npm install --prefix {VALIDATOR_DIR} three@{THREE_VERSION}` "
                "(make setup does this when npm is present)")
    return None


def threejs_load(path: str | os.PathLike, times: list[float], vertices: bool = False) -> dict:
    """What three.js's GLTFLoader and AnimationMixer make of a GLB: meshes, clips, and the pose at each time."""
    reason = threejs_available()
    if reason:
        raise ValidatorUnavailable(reason)
    command = ["node", str(_THREE_SCRIPT), str(VALIDATOR_DIR / "node_modules"), str(path), json.dumps(times)]
    result = subprocess.run(command + ["--vertices"] * vertices, capture_output=True, text=True, check=False,
                            timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"three.js could not load {path}: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout)


def main(paths: list[str]) -> int:
    reports = validate(paths)
    for report in reports:
        issues = report["issues"]
        print(f"{report['file']}: {issues['numErrors']} errors, {issues['numWarnings']} warnings, "
              f"{issues['numInfos']} infos, {issues['numHints']} hints")
        for message in issues["messages"]:
            if message["severity"] <= 1:
                print(f"  [{'error' if message['severity'] == 0 else 'warning'}] {message['code']}: "
                      f"{message['message']} at {message.get('pointer', '')}")
    return 1 if any(report["issues"]["numErrors"] for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
