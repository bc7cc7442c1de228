"""The broker cluster of `make test-cluster`: three RabbitMQ nodes and HAProxy, removed
after the test whatever its outcome (the test starts them, in parallel with its other
preparations)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.rabbitmq import RabbitCluster


@pytest.fixture
async def rabbit_cluster(tmp_path: Path) -> AsyncIterator[RabbitCluster]:
    cluster = RabbitCluster(tmp_path / "rabbitmq")
    try:
        yield cluster
    finally:
        await cluster.close()
