"""The SQLite archive: schema and writes, search, Datasette configuration and plugin, export."""
