"""The volunteers' part of the Telegram bot (to be written)."""
