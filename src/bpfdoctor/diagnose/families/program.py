"""Causes of the 'program' family (being written)."""
