"""Datasette plugin for govnews archives, registered through the `datasette` entry point.

Hooks are added here (Chinese full-text search, row rendering) so that a plain `datasette archive.db`
behaves like `govnews serve`.
"""
