"""Causes of the 'memory' family (being written)."""
