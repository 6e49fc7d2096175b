"""How generated figures are written into pages: markdown tables, wrapped paragraphs, where figures come from."""

from __future__ import annotations

import textwrap

WIDTH = 116


def rows(header: list[str], body: list[list[str]]) -> str:
    """A markdown table."""
    lines = [header, ["---"] * len(header), *body]
    return "".join("| " + " | ".join(cells) + " |\n" for cells in lines)


def source(*documents: dict) -> str:
    """Where the figures come from: each result's command and date, and the machine's load while it ran."""
    parts = []
    for document in documents:
        machine = document["machine"]
        # Above the core count, other work shared the machine, or (before) a bench run just before this one, or
        # (after) this run's own threads and encoders: the load alone cannot tell, so it is given, not judged.
        parts.append(
            f"`{document['command']}`, {document['date']}, {machine['cores']} core{'s' * (machine['cores'] != 1)}, "
            "load average "
            f"{machine['load_average']:g} before the run and {machine['load_average_after']:g} after"
        )
    return prose("Measured by " + "; ".join(parts) + ".")


def prose(text: str) -> str:
    """A generated paragraph, wrapped as the page's hand-written prose is."""
    return textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False) + "\n"


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def distribution(d: dict) -> str:
    """A kinematics.Distribution as written to JSON: mean (p10 / p50 / p90)."""
    return f"{d['mean']:.1f} ({d['p10']:.1f} / {d['p50']:.1f} / {d['p90']:.1f})"
