"""The generated tables of docs/benchmarks.md, README.md's headline figures and the shipped motion model card's
results, made from the committed bench results (bench/results/NAME.json).

A table's (or a generated paragraph's) place in a page is marked by `<!-- table: NAME -->` and
`<!-- end table -->`; the rest of the page is prose, written by hand. `python -m avatar.evaluation.report`
rewrites the marked tables of every page from the results; `--check` only says whether the pages are up to date
(the test suite checks the committed pages).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from avatar.evaluation.face_tables import face_au_table, talking_head_table, verification_loop_table
from avatar.evaluation.front_end_tables import alignment_table, features_paragraph, voice_activity_paragraph
from avatar.evaluation.headline import headline_table
from avatar.evaluation.motion_tables import (
    body_stages_table,
    body_vs_capture_table,
    capture_paragraph,
    learned_motion_card,
    procedural_emotions,
    procedural_table,
)
from avatar.evaluation.results import RESULTS
from avatar.evaluation.speed_tables import encoder_table, speed_table
from rigs.fileio import write_text_atomic
from rigs.paths import REPOSITORY

PAGE = REPOSITORY / "docs" / "benchmarks.md"
PAGES = (PAGE, REPOSITORY / "README.md", REPOSITORY / "checkpoints" / "motion-diffusion" / "README.md")

MARKED = re.compile(r"(<!-- table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end table -->)", re.S)


TABLES: dict[str, Callable[[Path], str]] = {
    "speed": speed_table,
    "features": features_paragraph,
    "alignment": alignment_table,
    "procedural": procedural_table,
    "procedural-emotions": procedural_emotions,
    "body-vs-capture": body_vs_capture_table,
    "body-stages": body_stages_table,
    "learned-motion": learned_motion_card,
    "learned-motion-capture": capture_paragraph,
    "talking-head": talking_head_table,
    "encoder-settings": encoder_table,
    "face-au": face_au_table,
    "voice-activity": voice_activity_paragraph,
    "headline": headline_table,
    "verification-loop": verification_loop_table,
}


def render_page(page: str, folder: str | Path = RESULTS) -> str:
    """The page with every marked table made afresh from the results in `folder`."""

    def table(match: re.Match) -> str:
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"docs table '{name}' has no generator; known: {', '.join(TABLES)}")
        return match[1] + TABLES[name](Path(folder)) + match[4]

    return MARKED.sub(table, page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=Path, action="append", help="only this page (default: every page)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--check", action="store_true", help="only say whether the pages are up to date")
    args = parser.parse_args(argv)
    stale = 0
    for path in args.page or PAGES:
        page = path.read_text(encoding="utf-8")
        made = render_page(page, args.results)
        if args.check:
            print(
                f"{path} is up to date" if made == page else f"{path} is stale: run python -m avatar.evaluation.report"
            )
            stale += made != page
        elif made != page:
            write_text_atomic(path, made)
            print(f"wrote the tables of {path}")
    return int(stale > 0)


if __name__ == "__main__":
    sys.exit(main())
