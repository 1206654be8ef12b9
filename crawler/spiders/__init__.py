"""Spiders: one generic spider walks any site definition."""
