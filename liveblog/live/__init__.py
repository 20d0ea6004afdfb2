"""Live delivery: one hub per process fans each story event out to every reader connection."""
