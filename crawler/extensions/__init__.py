"""Scrapy extensions (one per module): error_stats.ErrorStats, wal_checkpoint.WalCheckpoint."""
