"""Causes of the 'refs' family (being written)."""
