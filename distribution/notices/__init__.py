"""Notices Ardis sends: Distribution Notices and the outbox that sends them once."""
