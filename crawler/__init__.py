"""Scrapy project for govnews-archive: spiders, walk, frontier, writer, extraction and site definitions."""
