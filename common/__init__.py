"""Shared code for all papers: data, metrics, geometry, body models and the training runtime."""

PAPERS: tuple[str, ...] = ("kinematics", "contact", "posellm", "taihri", "eggflow", "tiger")
"""Paper packages, in the order `scripts/reproduce.py` runs them."""
