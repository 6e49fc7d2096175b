"""The speech front end: audio in, text to speech, alignment, visemes, frame features."""
