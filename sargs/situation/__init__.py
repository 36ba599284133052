"""The commission's view: the situation dashboard and the situation report."""
