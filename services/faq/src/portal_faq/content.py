"""FAQ content as it is written: a TOML file of categories and their questions.

Pure functions only: `parse_faq` checks a file's text and returns the content,
`render_markdown` turns an answer into HTML that is safe to put into a page as it is.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable
from importlib.resources import files
from typing import Annotated

import nh3
from markdown_it import MarkdownIt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Position = Annotated[int, Field(ge=1)]


def translation_is_whole(question_en: str | None, answer_en: str | None) -> bool:
    """Half a translation would show an English question above a German answer."""
    return (question_en is None) == (answer_en is None)


class FaqContentError(ValueError):
    """The file is not valid FAQ content; the message names where and why, in one line."""


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slug: Slug
    position: Position
    question: Text
    answer: Text
    question_en: Text | None = None
    answer_en: Text | None = None

    @model_validator(mode="after")
    def _translation_is_whole(self) -> Entry:
        if not translation_is_whole(self.question_en, self.answer_en):
            raise ValueError("question_en and answer_en must be given together")
        return self

    @property
    def has_english(self) -> bool:
        return self.question_en is not None


class Category(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slug: Slug
    position: Position
    title: Text
    title_en: Text | None = None
    entries: list[Entry] = Field(min_length=1)

    @model_validator(mode="after")
    def _positions_are_unique(self) -> Category:
        _require_unique("entry position", (e.position for e in self.entries))
        return self


class FaqContent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    categories: list[Category] = Field(min_length=1)

    @model_validator(mode="after")
    def _slugs_and_positions_are_unique(self) -> FaqContent:
        _require_unique("category slug", (c.slug for c in self.categories))
        _require_unique("category position", (c.position for c in self.categories))
        _require_unique("entry slug", (e.slug for e in self.entries()))
        return self

    def entries(self) -> list[Entry]:
        return [entry for category in self.categories for entry in category.entries]


def _require_unique(what: str, values: Iterable[object]) -> None:
    repeated = sorted(str(v) for v, n in Counter(values).items() if n > 1)
    if repeated:
        raise ValueError(f"{what} used more than once: {', '.join(repeated)}")


def parse_faq(text: str) -> FaqContent:
    try:
        return FaqContent.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise FaqContentError(f"not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise FaqContentError(_describe(exc)) from None


def packaged_faq() -> FaqContent:
    """The FAQ shipped with the service, from the customer's FAQ page."""
    return parse_faq((files("portal_faq") / "data" / "faq.toml").read_text(encoding="utf-8"))


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<file>'}: {err['msg']}"
        for err in exc.errors()[:5]
    )


# Raw HTML is off in the parser and the sanitiser runs anyway: content comes from files
# an editor can change, and the HTML goes into the portal page unescaped.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})
_SANITISER = nh3.Cleaner(
    tags={"p", "br", "strong", "em", "code", "ul", "ol", "li", "a"},
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    url_schemes={"https", "http", "mailto"},
    link_rel="noopener noreferrer nofollow",
)


def render_markdown(text: str) -> str:
    return _SANITISER.clean(_MARKDOWN.render(text)).strip()
