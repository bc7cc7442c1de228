"""The auth service's error codes, with German and English text."""

from portal_shared.problems import ProblemType

CUSTOMER_MISMATCH = ProblemType(
    "customer_mismatch", 422, "Customer data do not match",
    "Kundennummer und Nachname passen nicht zusammen. Bitte prüfen Sie Ihre Eingaben "
    "mit Ihren Vertragsunterlagen.",
    "Customer number and last name do not match. Please check them against your "
    "contract documents.",
    title_de="Kundendaten passen nicht zusammen",
)
TERMS_NOT_ACCEPTED = ProblemType(
    "terms_not_accepted", 422, "Terms not accepted",
    "Bitte akzeptieren Sie die Nutzungsbedingungen und die Datenschutzerklärung.",
    "Please accept the terms of use and the privacy policy.",
    title_de="Bedingungen nicht akzeptiert",
)
PASSWORD_POLICY = ProblemType(
    "password_policy", 422, "Password does not meet the policy",
    "Das Passwort erfüllt nicht alle Anforderungen.",
    "The password does not meet all requirements.",
    title_de="Passwort erfüllt die Anforderungen nicht",
)
TOKEN_INVALID = ProblemType(
    "token_invalid", 400, "Invalid link",
    "Der Link ist ungültig oder wurde bereits verwendet.",
    "The link is invalid or has already been used.",
    title_de="Ungültiger Link",
)
TOKEN_EXPIRED = ProblemType(
    "token_expired", 410, "Link expired",
    "Der Link ist abgelaufen. Bitte registrieren Sie sich erneut.",
    "The link has expired. Please register again.",
    title_de="Link abgelaufen",
)
INVALID_CREDENTIALS = ProblemType(
    "invalid_credentials", 401, "Invalid credentials",
    "E-Mail-Adresse oder Passwort ist falsch.",
    "E-mail address or password is incorrect.",
    title_de="Anmeldedaten falsch",
)
# Only behind a session (an address change): login no longer tells a pending account
# apart from a wrong password, so this never reaches anyone who does not own the account.
ACCOUNT_NOT_ACTIVATED = ProblemType(
    "account_not_activated", 403, "Account not activated",
    "Ihr Benutzerkonto ist noch nicht aktiviert. Bitte nutzen Sie den Link aus der "
    "Aktivierungs-E-Mail.",
    "Your account is not activated yet. Please use the link in the activation e-mail.",
    title_de="Benutzerkonto nicht aktiviert",
)
REFRESH_TOKEN_INVALID = ProblemType(
    "refresh_token_invalid", 401, "Session expired",
    "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.",
    "Your session has expired. Please log in again.",
    title_de="Sitzung abgelaufen",
)
CURRENT_PASSWORD_INVALID = ProblemType(
    "current_password_invalid", 422, "Current password is incorrect",
    "Das aktuelle Passwort ist nicht korrekt.",
    "The current password is incorrect.",
    title_de="Aktuelles Passwort falsch",
)
RESET_TOKEN_EXPIRED = ProblemType(
    "token_expired", 410, "Link expired",
    "Der Link ist abgelaufen. Bitte fordern Sie über „Passwort vergessen“ einen neuen an.",
    "The link has expired. Please request a new one via \u201cForgot password\u201d.",
    title_de="Link abgelaufen",
)
CHALLENGE_REQUIRED = ProblemType(
    "challenge_required", 428, "Challenge required",
    "Nach mehreren fehlgeschlagenen Versuchen ist eine kurze Prüfung nötig, dass Sie kein "
    "Roboter sind: Ihr Browser löst dafür eine kleine Rechenaufgabe. Bitte versuchen Sie es "
    "noch einmal, oder wählen Sie „Passwort vergessen“.",
    "After several failed attempts, a short check that you are not a robot is needed: your "
    "browser solves a small computing task. Please try again, or choose \u201cForgot password\u201d.",
    title_de="Prüfung erforderlich",
)
ALREADY_ACTIVATED = ProblemType(
    "already_activated", 409, "Account already activated",
    "Ihr Benutzerkonto ist bereits aktiviert. Bitte loggen Sie sich ein.",
    "Your account is already activated. Please log in.",
    title_de="Benutzerkonto bereits aktiviert",
)
EMAIL_UNCHANGED = ProblemType(
    "email_unchanged", 422, "Same e-mail address",
    "Das ist bereits die E-Mail-Adresse Ihres Benutzerkontos.",
    "This already is the e-mail address of your account.",
    title_de="Gleiche E-Mail-Adresse",
)
EMAIL_TAKEN = ProblemType(
    "email_taken", 409, "E-mail address taken",
    "Diese E-Mail-Adresse gehört inzwischen zu einem anderen Benutzerkonto. Ihre bisherige "
    "Adresse bleibt gültig; bitte wählen Sie in „Mein Konto“ eine andere.",
    "This e-mail address now belongs to another account. Your current address stays valid; "
    "please choose another one in \u201cMy account\u201d.",
    title_de="E-Mail-Adresse vergeben",
)
EMAIL_CHANGE_TOKEN_EXPIRED = ProblemType(
    "token_expired", 410, "Link expired",
    "Der Link ist abgelaufen. Bitte ändern Sie Ihre E-Mail-Adresse in „Mein Konto“ erneut.",
    "The link has expired. Please change your e-mail address again in \u201cMy account\u201d.",
    title_de="Link abgelaufen",
)
SESSION_NOT_FOUND = ProblemType(
    "session_not_found", 404, "Session not found",
    "Diese Anmeldung gibt es nicht oder sie ist bereits beendet.",
    "This session does not exist or has already ended.",
    title_de="Anmeldung nicht gefunden",
)
