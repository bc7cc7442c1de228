"""/impressum, /datenschutz, /nutzungsbedingungen: texts an operator replaces.

Each is `<name>.<de|en>.md` in PORTAL_CONTENT_DIR (else the packaged placeholder),
Markdown without raw HTML, read once per process.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from aiohttp import web
from markdown_it import MarkdownIt
from markupsafe import Markup

from portal_web.keys import CONTEXT, LANGUAGE
from portal_web.rendering import render

PAGES = {"impressum": "imprint", "datenschutz": "privacy", "nutzungsbedingungen": "terms"}


@lru_cache(maxsize=32)
def _rendered(directory: str | None, name: str, language: str) -> str:
    filename = f"{name}.{language}.md"
    own = Path(directory) / filename if directory else None
    if own is not None and own.is_file():
        text = own.read_text(encoding="utf-8")
    elif own is not None and (fallback := Path(directory) / f"{name}.de.md").is_file():  # type: ignore[arg-type]
        text = fallback.read_text(encoding="utf-8")
    else:
        text = (files("portal_web") / "content" / filename).read_text(encoding="utf-8")
    return MarkdownIt("commonmark", {"html": False}).render(text)


def page(name: str):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        directory = request.app[CONTEXT].settings.portal_content_dir
        html = _rendered(str(directory) if directory else None, name, request[LANGUAGE])
        return await render(request, "legal.html", {"kind": PAGES[name], "content": Markup(html)})

    return handler
