"""sargs.volunteers — the CREWS volunteer portal, training and call-outs."""
