"""Guidance: score rendered images against a style (CLIP text/image targets, weight-free texture)."""
