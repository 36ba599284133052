"""sargs.cad — the 8787 operational information centre: resident reports,
partners, routing, the Open311 API and statistics."""
