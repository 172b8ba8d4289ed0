"""Eval stage: metrics of stylized avatars and the benchmark harness."""
