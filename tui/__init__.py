"""userops terminal UI and command line. Depends on core; core never depends on it."""
