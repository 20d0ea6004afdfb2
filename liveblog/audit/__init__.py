"""Audit: signed checkpoints of the hash chain, export of a story's log, verification."""
