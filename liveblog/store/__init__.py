"""Storage: the append-only event log and the records kept beside it."""
