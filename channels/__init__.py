"""sargs.channels — the notification engine: alerts and their approval, the
contact registry, audiences, the delivery ledger, the dispatcher, the inbound
router and one adapter per channel (SMS, voice, Telegram, PBX, SIP, e-mail)."""
