"""The avatar engine as users meet it: CLI, speech front end, and (as they land) emotion, pipeline and exports."""

__version__ = "0.1.0"
