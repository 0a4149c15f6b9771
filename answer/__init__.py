"""The answer stages: question -> triage -> retrieve -> rerank -> locate -> coverage -> select ->
compose, each behind a small protocol (see pipeline.py)."""
