"""The generated pages (docs/benchmarks.md's tables, README's headline figures, the motion model card's results) are
what avatar.evaluation.report makes from the committed bench results."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from avatar.evaluation.report import PAGE, PAGES, main, render_page
from avatar.evaluation.results import RESULTS
from rigs.paths import REPOSITORY

README = REPOSITORY / "README.md"


def outside_table(page: str, name: str) -> str:
    return re.sub(rf"<!-- table: {name} -->.*?<!-- end table -->", "", page, flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(REPOSITORY)))
def test_committed_page_is_made_from_the_committed_results(page):
    text = page.read_text(encoding="utf-8")
    assert "<!-- table: " in text
    assert render_page(text, RESULTS) == text, f"{page} is stale: run python -m avatar.evaluation.report"


def test_every_generated_table_is_marked_where_it_belongs():
    marked = lambda path: set(re.findall(r"<!-- table: ([\w-]+) -->", path.read_text(encoding="utf-8")))  # noqa: E731
    benchmarks = {"alignment", "features", "procedural", "speed", "body-vs-capture", "body-stages"}
    benchmarks |= {"encoder-settings", "talking-head", "face-au", "voice-activity", "verification-loop"}
    assert benchmarks <= marked(PAGE)
    assert marked(README) == {"headline"}
    assert marked(REPOSITORY / "checkpoints" / "motion-diffusion" / "README.md") == {
        "learned-motion",
        "learned-motion-capture",
    }


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
    assert outside_table(made, "alignment") == outside_table(page, "alignment")


def test_one_result_feeds_the_readme_headline_and_the_benchmarks_page(tmp_path):
    shutil.copytree(RESULTS, tmp_path, dirs_exist_ok=True)
    result = json.loads((tmp_path / "body_vs_capture.json").read_text())
    result["figures"]["motions"]["learned (default)"]["speed"]["arms"]["mean"] = 12.34
    (tmp_path / "body_vs_capture.json").write_text(json.dumps(result))
    readme, page = README.read_text(encoding="utf-8"), PAGE.read_text(encoding="utf-8")
    made_readme, made_page = render_page(readme, tmp_path), render_page(page, tmp_path)
    headline = next(line for line in made_readme.splitlines() if line.startswith("| body vs real capture"))
    assert "/ 12.3 cm/s" in headline
    arms = next(line for line in made_page.splitlines() if line.startswith("| speed, arms"))
    assert "| 12.3 (" in arms and arms.endswith("| procedural yes, learned NO |")
    assert outside_table(made_readme, "headline") == outside_table(readme, "headline")


def test_check_says_which_page_is_stale(tmp_path, capsys):
    stale = tmp_path / "page.md"
    stale.write_text("<!-- table: alignment -->\nold figures\n<!-- end table -->\n")
    assert main(["--check", "--page", str(stale)]) == 1
    assert "is stale" in capsys.readouterr().out
    assert main(["--page", str(stale)]) == 0
    assert main(["--check", "--page", str(stale)]) == 0
    assert "word-start error, median" in stale.read_text()
