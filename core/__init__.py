"""userops core: the domain logic over a SQLite database. No UI imports here (checked by tests)."""
