"""Helpers every level may import: `.keras` registration, argument checks, atomic file writes."""
