"""Protocol-faithful simulators of the providers Sargs sends through (Twilio,
Telegram Bot API, Asterisk AMI, SMTP), used by the tests and the demo.

They run on 127.0.0.1 only, record what each phone, chat or inbox received,
and refuse to start unless Sargs runs in test or demo mode.
"""
