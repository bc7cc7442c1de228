"""Kundenportal mailer: turns events from the broker into mails, each mail at most once
(but for the window the README describes).

`consumer` takes messages off the mailer queue and hands each to `delivery`, which
decodes it, asks `mails` which mails the event leads to, has `rendering` write them,
sends them through `smtp` while `repository` records them, and settles the message
(`settlement`): acknowledged, delayed for a retry (`retry`, `topology`) or
dead-lettered (`dead_letters`, which also lists and replays them). `app` wires these
together behind health and metrics endpoints; `cli` is the command line.
"""
