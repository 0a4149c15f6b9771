"""Evaluation and benchmarks: grounding, safety, retrieval quality, speed."""
