"""What every page handler needs, in one frozen object kept under `keys.CONTEXT`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from portal_shared.clock import Clock, utc_now
from portal_web.config import PortalSettings
from portal_web.domain.session import Lifetime
from portal_web.upstream import Apis


@dataclass(frozen=True)
class PortalContext:
    settings: PortalSettings
    pool: asyncpg.Pool
    apis: Apis
    clock: Clock = utc_now

    @property
    def lifetime(self) -> Lifetime:
        return Lifetime(
            idle=timedelta(minutes=self.settings.portal_session_idle_minutes),
            absolute=timedelta(hours=self.settings.portal_session_max_hours),
        )
