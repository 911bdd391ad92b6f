"""Causes of the 'helpers' family (being written)."""
