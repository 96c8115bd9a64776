"""What the screens and commands show: user lists and pages, one user's profile."""
