"""Outbound webhook transport."""
