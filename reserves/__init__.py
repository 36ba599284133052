"""sargs.reserves — material reserve stock: batches, movements, issue, autonomy."""
