"""One module per journey; each handler parses the form, calls an API, renders a page.

- `start`: the start page
- `registration`: /registrieren and its confirmation, /aktivieren
- `login`: /login, /logout
- `recovery`: /passwort-vergessen, /passwort-zuruecksetzen
- `account`: /konto (Mein Konto): password change, deletion
- `faq`: /faq, /faq/{slug}, /faq/suche
- `contact`: /kontakt
- `legal`: /impressum, /datenschutz, /nutzungsbedingungen
- `language`: /sprache (the language switch), the live password check for scripts
"""
