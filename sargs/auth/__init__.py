"""Staff accounts, global roles, TOTP second factor, API tokens and access rules."""
