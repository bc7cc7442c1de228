"""The FAQ service's error codes, with German and English text."""

from portal_shared.problems import ProblemType

FAQ_ENTRY_NOT_FOUND = ProblemType(
    "faq_entry_not_found", 404, "FAQ entry not found",
    "Der angeforderte FAQ-Eintrag wurde nicht gefunden.",
    "The requested FAQ entry was not found.",
)
