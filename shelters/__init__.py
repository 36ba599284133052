"""sargs.shelters — the "Patvertne" shelter register, occupancy and public map."""
