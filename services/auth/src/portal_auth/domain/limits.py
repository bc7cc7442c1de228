"""Request limits per client IP for the endpoints that need no login, and the
thresholds past which guesses at one target need a solved challenge."""

from datetime import timedelta

from portal_auth.domain.throttling import ChallengePolicy, LockPolicy
from portal_shared.ratelimit import Limit

REGISTER = Limit("register", hits=10, window=timedelta(minutes=10))
# Every registration form, refused ones included (a password the rules refuse, a missed
# checkbox): generous, so a customer correcting the form is never held up, but bounded.
# REGISTER counts only the forms that get as far as the hashes and the customer data.
REGISTER_FORMS = Limit("register-forms", hits=60, window=timedelta(minutes=10))
ACTIVATE = Limit("activate", hits=30, window=timedelta(minutes=10))
# Resending the activation mail: per IP a 429; per address quietly (same answer, no mail),
# so nobody can flood a mailbox and the limit says nothing about the address.
RESEND_PER_IP = Limit("resend-ip", hits=10, window=timedelta(minutes=15))
RESEND_PER_ADDRESS = Limit("resend-address", hits=3, window=timedelta(hours=1))
FORGOT_PER_IP = Limit("forgot-ip", hits=10, window=timedelta(minutes=15))
# Reset mails per account (only requests that match count): past it, further requests
# are answered alike but send nothing — the newest mail already holds a working link.
FORGOT_PER_ACCOUNT = Limit("forgot-account", hits=3, window=timedelta(minutes=15))
# Mails about a customer number's ownership that anyone with an invoice can cause, per
# customer number: registration-refused (to the address on file, from registration and
# from forgot) and registration-contested „waiting“. Past it, the answers stay alike and
# nothing more is mailed — the bound the per-number registration limit used to give,
# without keeping the customer from registering.
OWNERSHIP_NOTICES = Limit("ownership-notices", hits=5, window=timedelta(hours=1))
# Fresh activation links mailed when a pending account's password is entered at login.
ACTIVATION_REMINDER = Limit("activation-reminder", hits=3, window=timedelta(hours=1))
RESET = Limit("reset", hits=30, window=timedelta(minutes=10))
# Asking whether a reset link still works (the portal does before it shows the form):
# apart from RESET, so that another site's images of the page cannot use up the
# customer's resets; generous, and a link is 32 random bytes, so it reveals nothing.
RESET_CHECK = Limit("reset-check", hits=120, window=timedelta(minutes=10))
CHECK = Limit("check", hits=120, window=timedelta(minutes=1))
# Changing the address sends a mail to an address of the caller's choosing: per account.
EMAIL_CHANGE = Limit("email-change", hits=5, window=timedelta(hours=1))
EMAIL_CONFIRM = Limit("email-confirm", hits=30, window=timedelta(minutes=10))
REFRESH = Limit("refresh", hits=120, window=timedelta(minutes=1))

# Failed logins per address (known or not) without a valid device token.
ACCOUNT_CHALLENGES = ChallengePolicy(free_failures=5)
# Failed logins with a valid device token, per device: counted apart from the rest.
DEVICE_CHALLENGES = ChallengePolicy(free_failures=5)
# Registrations whose last name did not match, per customer number (known or not).
CUSTOMER_CHALLENGES = ChallengePolicy(free_failures=5)
# Failed password checks per client IP: past 30, the IP waits (30 s, doubling, ≤ 1 h).
IP_LOCKS = LockPolicy(free_failures=30, first_lock=timedelta(seconds=30), max_lock=timedelta(hours=1))
# A logged-in customer re-entering a wrong password (change, deletion): only a session
# holder can cause this lock, so it cannot be used to keep the owner out.
CONFIRM_LOCKS = LockPolicy(free_failures=5, first_lock=timedelta(seconds=30), max_lock=timedelta(hours=1))

# A challenge is valid this long after it was handed out, and works once.
CHALLENGE_TTL = timedelta(minutes=10)
# How often an account's owner is told that someone is guessing their password.
ATTACK_NOTICE_INTERVAL = timedelta(days=1)
