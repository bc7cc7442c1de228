"""Solving the auth service's proof-of-work challenges in tests, the way a browser does."""

from __future__ import annotations

import base64
import json
from typing import Any

from altcha import solve_challenge_v1


def solve(challenge: dict[str, Any]) -> str:
    """The `altcha` payload for a challenge from `GET /api/v1/auth/challenge`."""
    solution = solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxNumber"]
    )
    assert solution is not None, "the challenge has no solution"
    payload = {k: challenge[k] for k in ("algorithm", "challenge", "salt", "signature")}
    payload["number"] = solution.number
    return base64.b64encode(json.dumps(payload).encode()).decode()


async def solved(client: Any, path: str = "/api/v1/auth/challenge") -> str:
    """Fetch a fresh challenge with `client` (a TestClient or a ClientSession with a
    base URL) and solve it."""
    async with client.get(path) as response:
        assert response.status == 200, await response.text()
        return solve(await response.json())
