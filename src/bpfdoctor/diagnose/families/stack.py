"""Causes of the 'stack' family (being written)."""
