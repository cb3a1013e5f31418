"""Benchmark: newsdrop against a naive baseline, in one run, against a private Redis."""
