"""The reserves' scheduler work (to be written)."""
