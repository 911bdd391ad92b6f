"""The verifier's log: parsing it into structure."""

from .summary import VerifierStats, parse_summary

__all__ = ["VerifierStats", "parse_summary"]
