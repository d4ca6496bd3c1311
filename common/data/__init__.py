"""Shared data layer: sample schema, transforms, real-format loader base, CPU renderer, synthetic scenes."""
