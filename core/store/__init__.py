"""Connections, the schema and its migrations, SQL helpers: what every other part stands on."""
