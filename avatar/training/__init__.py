"""Training data and training runs: motion corpora from speech and the procedural teacher, BEAT loading."""
