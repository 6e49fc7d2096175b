"""docs/benchmarks.md's tables are what avatar.evaluation.report makes from the committed bench results."""

from __future__ import annotations

import json
import re
import shutil

from avatar.evaluation.report import PAGE, render_page
from avatar.evaluation.results import RESULTS


def outside_alignment_table(page: str) -> str:
    return re.sub(r"<!-- table: alignment -->.*?<!-- end table -->", "", page, flags=re.S)


def test_committed_page_is_made_from_the_committed_results():
    page = PAGE.read_text(encoding="utf-8")
    assert "<!-- table: alignment -->" in page and "<!-- table: procedural -->" in page
    assert "<!-- table: speed -->" in page
    assert render_page(page, RESULTS) == page, "docs/benchmarks.md is stale: run python -m avatar.evaluation.report"


def test_a_new_result_changes_its_table_and_nothing_else(tmp_path):
    shutil.copytree(RESULTS, tmp_path, dirs_exist_ok=True)
    result = json.loads((tmp_path / "alignment.json").read_text())
    result["figures"]["takes_one_by_one"]["word_median_ms"] = 123.4
    result["machine"] |= {"cores": 2, "load_average": 0.5, "load_average_after": 0.5}
    (tmp_path / "alignment.json").write_text(json.dumps(result))
    page = PAGE.read_text(encoding="utf-8")
    made = render_page(page, tmp_path)
    assert "| word-start error, median | 123 ms |" in made
    table = made[made.index("<!-- table: alignment -->") : made.index("<!-- table: features -->")]
    assert "load average 0.5 before the run and 0.5 after." in " ".join(table.split())
    assert outside_alignment_table(made) == outside_alignment_table(page)
