"""Scrapy project for govnews-archive: spiders, extraction, pipelines and site definitions."""
