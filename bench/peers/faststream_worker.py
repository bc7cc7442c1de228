"""A FastStream consumer for the activation mail: RabbitMQ, acknowledged after the
handler ran (nack on error), 8 subscribers on one queue with prefetch 1 each (FastStream
runs one message at a time per subscriber), a pool of 8 reused aiosmtplib connections.
What it lacks next to our mailer: no outbox, no idempotency record, no dead letters.

    python faststream_worker.py   (run by bench/peers.py)
"""

from __future__ import annotations

import asyncio
import os

import aiosmtplib
from activation_mail import activation_message
from faststream import AckPolicy, FastStream
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue

CONCURRENCY = int(os.environ.get("PEER_CONCURRENCY", "8"))
broker = RabbitBroker(os.environ["PEER_AMQP_URL"], logger=None)
app = FastStream(broker, logger=None)
queue = RabbitQueue(os.environ["PEER_QUEUE"], durable=True)
pool: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()


async def send(payload: dict) -> None:
    sender, recipient, raw = activation_message(payload)
    client = await pool.get()
    try:
        if not client.is_connected:
            await client.connect()
        await client.sendmail(sender, [recipient], raw)
    finally:
        pool.put_nowait(client)


for _ in range(CONCURRENCY):
    broker.subscriber(queue, channel=Channel(prefetch_count=1), ack_policy=AckPolicy.NACK_ON_ERROR)(send)


@app.on_startup
async def connect_pool() -> None:
    for _ in range(CONCURRENCY):
        client = aiosmtplib.SMTP(hostname=os.environ["SMTP_HOST"], port=int(os.environ["SMTP_PORT"]), timeout=30)
        await client.connect()
        pool.put_nowait(client)


if __name__ == "__main__":
    import uvloop

    uvloop.run(app.run())
