"""Where a mailer replica's CPU time goes under the benchmark's load: py-spy, summed.

    .venv/bin/python bench/mailer_throughput.py --only 0:1x8 --profile DIR

`profiled(pids, path)` runs `py-spy record --format raw` against each replica for the
measured phase only (not start-up, not warm-up); `summary` sorts every sample into the
part of the message path its innermost recognisable frame belongs to. py-spy samples only
stacks that are not waiting (the event loop's poll is counted only while it runs), so
the shares are shares of the replica's busy time — on a loaded machine that includes
time spent runnable but not scheduled, which inflates the absolute ms per mail, not the
shares much.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"
SAMPLES_PER_SECOND = 200

# (part, what its frames look like in py-spy's "function (file)" form); the innermost
# frame that matches any pattern decides, in the order of this list for one frame.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("logging", ("logging/", "portal_shared/logs.py")),
    ("metrics", ("prometheus_client/",)),
    ("decode (JSON, pydantic)", ("portal_shared/events.py", "pydantic", "json/")),
    ("planning", ("portal_mailer/domain/",)),
    ("templates (jinja2)", ("jinja2/", "<template>", "render (portal_mailer/rendering.py)")),
    ("MIME message", ("email/", "portal_mailer/rendering.py")),
    ("PostgreSQL (asyncpg)", ("asyncpg/", "portal_mailer/repository/")),
    ("SMTP (aiosmtplib)", ("aiosmtplib/", "portal_mailer/smtp.py")),
    ("broker (aio-pika, aiormq, pamqp)", ("aio_pika/", "aiormq/", "pamqp/")),
    ("mailer's own path", ("portal_mailer/",)),
    ("event loop, sockets", ("asyncio/", "selectors.py", "uvloop")),
]


@asynccontextmanager
async def profiled(pids: list[int], path: Path) -> AsyncIterator[None]:
    """py-spy on every pid while the block runs; raw samples appended to `path`."""
    spies = [
        await asyncio.create_subprocess_exec(
            str(PY_SPY), "record", "--pid", str(pid), "--format", "raw", "--nolineno",
            "--rate", str(SAMPLES_PER_SECOND), "--output", f"{path}.{pid}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        for pid in pids
    ]
    await asyncio.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        await asyncio.gather(*(spy.wait() for spy in spies))
        with path.open("a") as combined:
            for pid in pids:
                part = Path(f"{path}.{pid}")
                if part.exists():
                    combined.write(part.read_text())
                    part.unlink()


def part_of(stack: list[str]) -> str:
    for frame in reversed(stack):  # innermost first
        for part, patterns in PARTS:
            if any(pattern in frame for pattern in patterns):
                return part
    return "other"


# A thread-pool worker waiting for work (asyncio's default executor, used once for a
# DNS lookup at start) is not idle to py-spy; its samples are no CPU time.
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py)",)


def summary(path: Path, mails: int, top: int = 15) -> str:
    """Shares per part and the functions with the most samples of their own."""
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        stack = stack_text.split(";")
        if stack[-1] in IDLE_LEAVES:
            continue
        parts[part_of(stack)] += count
        leaves[stack[-1]] += count
        total += count
    if not total:
        return "no samples"
    busy_ms_per_mail = total / SAMPLES_PER_SECOND * 1000 / mails if mails else 0.0
    lines = [
        (
            f"{total} samples at {SAMPLES_PER_SECOND}/s for {mails} mails: "
            f"{busy_ms_per_mail:.2f} ms of replica busy time per mail (running or runnable)"
        ),
        "",
        "| part | share | ms per mail |",
        "|---|---|---|",
    ]
    for part, count in parts.most_common():
        lines.append(f"| {part} | {count / total:.0%} | {busy_ms_per_mail * count / total:.3f} |")
    lines += ["", f"top {top} functions by own samples:"]
    for leaf, count in leaves.most_common(top):
        lines.append(f"  {count / total:6.1%}  {leaf}")
    return "\n".join(lines)
