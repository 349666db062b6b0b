"""ESO Phase 3."""
