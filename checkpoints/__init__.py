"""The shipped checkpoints as package data, found by `rigs.paths.checkpoint(name)`; README.md lists them."""
