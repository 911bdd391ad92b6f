"""Causes of the 'reloc' family (being written)."""
