"""The avatar engine as users meet it: the pipeline, the CLI, the speech front end, emotion, recognizers, the
verification loop, exports and batch rendering."""

__version__ = "0.1.0"
