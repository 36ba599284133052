"""sargs.exercises — continuity plans, tabletop exercises and after-action reports."""
