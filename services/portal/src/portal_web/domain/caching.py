"""When an API's answer may be kept: the rules of HTTP caching the portal follows."""

from __future__ import annotations

# Never keep an answer longer than this, whatever an API says.
MAX_KEEP_SECONDS = 3600


def public_max_age(cache_control: str | None) -> int:
    """Seconds a shared cache may keep the answer (`public, max-age=N`), else 0.

    `private`, `no-store` and `no-cache` answers are never kept: they carry personal
    data or must be asked for every time.
    """
    if not cache_control:
        return 0
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if "public" not in directives or any(d in ("private", "no-store", "no-cache") for d in directives):
        return 0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name.strip() == "max-age":
            try:
                return max(0, min(int(value.strip().strip('"')), MAX_KEEP_SECONDS))
            except ValueError:
                return 0
    return 0
