"""The portal's pages: German paths, as the FAQ and the mails name them."""

from __future__ import annotations

from aiohttp import web

from portal_web.pages import (
    account,
    challenge,
    contact,
    faq,
    language,
    legal,
    login,
    passwords,
    recovery,
    registration,
    start,
)
from portal_web.rendering import STATIC_DIR

SLUG = "{slug:[a-z0-9][a-z0-9-]{0,79}}"


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/", start.start)
    r.add_get("/registrieren", registration.show)
    r.add_post("/registrieren", registration.submit)
    r.add_get("/registrieren/bestaetigen", registration.confirm)
    r.add_get("/registrieren/erneut-senden", registration.show_resend)
    r.add_post("/registrieren/erneut-senden", registration.submit_resend)
    r.add_get("/registrieren/erneut-senden/gesendet", registration.resend_sent)
    r.add_get("/aktivieren", registration.show_activation)
    r.add_post("/aktivieren", registration.activate)
    r.add_get("/login", login.show)
    r.add_post("/login", login.submit)
    r.add_get("/logout", login.confirm_logout)
    r.add_post("/logout", login.logout)
    r.add_get("/pruefung", challenge.challenge)
    r.add_get("/passwort-vergessen", recovery.show_forgot)
    r.add_post("/passwort-vergessen", recovery.submit_forgot)
    r.add_get("/passwort-vergessen/gesendet", recovery.forgot_sent)
    r.add_get("/passwort-zuruecksetzen", recovery.show_reset)
    r.add_post("/passwort-zuruecksetzen", recovery.submit_reset)
    r.add_get("/passwort-zuruecksetzen/fertig", recovery.reset_done)
    r.add_post("/passwort/pruefen", passwords.check)
    r.add_get("/konto", account.show)
    r.add_post("/konto/passwort", account.change_password)
    r.add_post("/konto/email", account.change_email)
    r.add_post("/konto/geraete/abmelden", account.end_device)
    r.add_post("/konto/geraete/andere-abmelden", account.end_other_devices)
    # Those forms' addresses, opened by a GET (the login's way back after a session ended
    # mid-form, Enter in the address bar after an error): their section on /konto.
    for path, section in account.FORM_SECTIONS.items():
        r.add_get(path, account.to_section(section))
    r.add_get("/email-bestaetigen", account.show_email_confirmation)
    r.add_post("/email-bestaetigen", account.confirm_email)
    r.add_get("/konto/loeschen", account.show_delete)
    r.add_post("/konto/loeschen", account.delete)
    r.add_get("/auf-wiedersehen", account.goodbye)
    r.add_get("/faq", faq.overview)
    r.add_get("/faq/suche", faq.search)
    r.add_get(f"/faq/{SLUG}", faq.entry)
    r.add_get("/kontakt", contact.show)
    r.add_post("/kontakt", contact.submit)
    r.add_get("/kontakt/gesendet", contact.sent)
    for name in legal.PAGES:
        r.add_get(f"/{name}", legal.page(name))
    r.add_get("/sprache", language.switch)
    r.add_static("/static", str(STATIC_DIR), append_version=False)
