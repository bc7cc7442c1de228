"""Request limits per client IP for the endpoints that need no login."""

from datetime import timedelta

from portal_auth.domain.throttling import LockPolicy
from portal_shared.ratelimit import Limit

REGISTER = Limit("register", hits=10, window=timedelta(minutes=10))
# Per customer number, whichever IPs ask: guessing the last name of a known customer
# number (or the reverse) from many addresses stays slow.
REGISTER_PER_CUSTOMER = Limit("register-customer", hits=5, window=timedelta(hours=1))
ACTIVATE = Limit("activate", hits=30, window=timedelta(minutes=10))
# Resending the activation mail: per IP a 429; per address quietly (same answer, no mail),
# so nobody can flood a mailbox and the limit says nothing about the address.
RESEND_PER_IP = Limit("resend-ip", hits=10, window=timedelta(minutes=15))
RESEND_PER_ADDRESS = Limit("resend-address", hits=3, window=timedelta(hours=1))
FORGOT_PER_IP = Limit("forgot-ip", hits=10, window=timedelta(minutes=15))
FORGOT_PER_ADDRESS = Limit("forgot-address", hits=3, window=timedelta(minutes=15))
RESET = Limit("reset", hits=30, window=timedelta(minutes=10))
CHECK = Limit("check", hits=120, window=timedelta(minutes=1))
# Changing the address sends a mail to an address of the caller's choosing: per account.
EMAIL_CHANGE = Limit("email-change", hits=5, window=timedelta(hours=1))
EMAIL_CONFIRM = Limit("email-confirm", hits=30, window=timedelta(minutes=10))
REFRESH = Limit("refresh", hits=120, window=timedelta(minutes=1))

ACCOUNT_LOCKS = LockPolicy(free_failures=5, first_lock=timedelta(seconds=30), max_lock=timedelta(hours=1))
IP_LOCKS = LockPolicy(free_failures=30, first_lock=timedelta(seconds=30), max_lock=timedelta(hours=1))
