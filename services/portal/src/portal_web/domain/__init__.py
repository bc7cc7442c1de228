"""Typed models and pure decisions of the portal; no I/O.

- `session`: the server-side session and when it ends, rotates or refreshes
- `forms`: what each form needs before an API is asked, and how API errors map to fields
- `safety`: local redirect targets, the case number, cookie names
- `caching`: which API answers the portal may keep, and for how long
"""
