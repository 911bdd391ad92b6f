"""Causes of the 'limits' family (being written)."""
