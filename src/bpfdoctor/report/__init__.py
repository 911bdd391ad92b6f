"""Renderings of check results: text for people, JSON for programs."""
