"""The mailer's rules: typed values and pure decisions, no I/O (each testable alone).

`mails` — which mails an event leads to (`plan_mails`), to whom, with which values;
`formatting` — dates, lifetimes, links and one-line texts as the mails show them;
`failures` — what went wrong with a mail, and which failures are permanent;
`outcomes` — how one message ends (`Sent`, or `Failed` with a `Retry` or `GiveUp`);
`retry` — the retry policy: after a failure, retry later (with which delay) or give up.
"""
