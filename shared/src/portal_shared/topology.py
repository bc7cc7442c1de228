"""Names of the RabbitMQ objects the services share.

The events exchange is declared by every producer and consumer with the same arguments,
so whichever starts first creates it. Queues belong to their consumer.
"""

EVENTS_EXCHANGE = "portal.events"
DEAD_LETTER_EXCHANGE = "portal.dead-letters"


class RoutingKey:
    REGISTRATION_CREATED = "auth.registration-created"
    ACCOUNT_EXISTS = "auth.account-exists"
    RESET_REQUESTED = "auth.reset-requested"
    PASSWORD_CHANGED = "auth.password-changed"
    CONTACT_REQUESTED = "faq.contact-requested"
    ACTIVATION_REMINDER = "auth.activation-reminder"
    SUSPICIOUS_LOGINS = "auth.suspicious-logins"
    REGISTRATION_REFUSED = "auth.registration-refused"
    REGISTRATION_CONTESTED = "auth.registration-contested"
    CUSTOMER_RELEASED = "auth.customer-released"
    EMAIL_CHANGE_REQUESTED = "auth.email-change-requested"
    EMAIL_CHANGED = "auth.email-changed"


MAILER_QUEUE = "mailer.events"
MAILER_DEAD_LETTER_QUEUE = "mailer.dead-letters"

# The routing keys the mailer binds its queue to: every event that leads to a mail.
MAILER_ROUTING_KEYS = (
    RoutingKey.REGISTRATION_CREATED,
    RoutingKey.ACCOUNT_EXISTS,
    RoutingKey.RESET_REQUESTED,
    RoutingKey.PASSWORD_CHANGED,
    RoutingKey.CONTACT_REQUESTED,
    RoutingKey.ACTIVATION_REMINDER,
    RoutingKey.SUSPICIOUS_LOGINS,
    RoutingKey.REGISTRATION_REFUSED,
    RoutingKey.REGISTRATION_CONTESTED,
    RoutingKey.CUSTOMER_RELEASED,
    RoutingKey.EMAIL_CHANGE_REQUESTED,
    RoutingKey.EMAIL_CHANGED,
)
