"""Request bodies of the FAQ API. Shape and limits only; rules live in `domain/`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from portal_faq.content import Slug, translation_is_whole
from portal_faq.domain import contact
from portal_shared.email_address import InvalidAddress


def _text(max_length: int) -> object:
    return Field(min_length=1, max_length=max_length)


Question = Annotated[str, _text(300)]
Answer = Annotated[str, _text(20_000)]
Title = Annotated[str, _text(120)]
Position = Annotated[int, Field(ge=1, le=10_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class EntryBody(Body):
    """`PUT /entries/{slug}`: the whole entry except its slug (slugs are URLs and stay)."""

    category: Slug
    position: Position
    question: Question
    answer: Answer
    question_en: Question | None = None
    answer_en: Answer | None = None

    @model_validator(mode="after")
    def _translation_is_whole(self) -> EntryBody:
        if not translation_is_whole(self.question_en, self.answer_en):
            raise PydanticCustomError("translation_incomplete", "give both or neither")
        return self


class NewEntryBody(EntryBody):
    slug: Slug


class CategoryBody(Body):
    position: Position
    title: Title
    title_en: Title | None = None


class NewCategoryBody(CategoryBody):
    slug: Slug


def _email(value: str) -> str:
    try:
        return contact.normalise_email(contact.clean(value))
    except InvalidAddress as exc:
        # `invalid_email`, or `email_not_supported` (a problem type of its own)
        raise PydanticCustomError(exc.code, "e-mail address not accepted") from None


def _name(value: str) -> str:
    # The name becomes the display name of the support mail's Reply-To.
    if not contact.is_plain_name(value):
        raise PydanticCustomError("invalid_characters", "line breaks and '=?' are not allowed")
    return contact.clean(value)


def _single_line(value: str) -> str:
    if not contact.is_single_line(value):
        raise PydanticCustomError("invalid_characters", "control characters are not allowed")
    return contact.clean(value)


def _clean_text(value: str) -> str:
    if not contact.is_clean_text(value):
        raise PydanticCustomError("invalid_characters", "control characters are not allowed")
    return contact.clean(value)


class ContactBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_name)]
    email: Annotated[
        str, Field(min_length=3, max_length=contact.MAX_EMAIL_LENGTH), AfterValidator(_email)
    ]
    customer_number: Annotated[
        str, Field(min_length=1, max_length=64), AfterValidator(_single_line)
    ] | None = None
    subject: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_single_line)]
    message: Annotated[str, Field(min_length=1, max_length=5000), AfterValidator(_clean_text)]
    locale: Literal["de", "en"] | None = None
