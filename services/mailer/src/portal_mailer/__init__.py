"""Kundenportal mailer: turns events from the broker into mails, each event at most once.

`consumer` takes events off the mailer queue, `rendering` makes the mail (pure), `smtp`
sends it, `repository` remembers which events were mailed; `app` wires them together
behind health and metrics endpoints.
"""
