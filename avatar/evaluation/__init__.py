"""Measures of generated motion against real capture, shared by the bench scripts and the tests."""
