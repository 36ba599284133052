"""sargs.warnings — LVĢMC / Meteoalarm warning ingest (CAP 1.2), escalation by
level into alerts, and the public CAP feed of Sargs' own alerts."""
