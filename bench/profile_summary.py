"""Where a service's time goes, from py-spy's collapsed stacks (`--format raw --threads`).

    .venv/bin/python bench/profile_summary.py PROFILE.txt [--seconds 10] [--rate 200] [--top 12]

Prints, per thread, the share of the recorded wall time it was busy (samples / (seconds
× rate); samples of the event loop waiting are left out, see `idle`); then for the event-loop thread (MainThread) its
busy samples by the package of the innermost frame (self time: where the CPU was) and
the functions of our own packages (`portal_*`) by inclusive time (what they cost with
everything they call).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?):(?P<line>\d+)\)$")


def parse(text: str) -> list[tuple[str, list[str], int]]:
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        thread, *frames = stack.split(";")
        name = thread.split(": ", 1)[-1]
        stacks.append((re.sub(r"_\d+$", "", name), frames, int(count)))
    return stacks


def package(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match["path"]
    if path.startswith("<"):
        return "python (frozen/builtin)"
    return path.split("/")[0].removesuffix(".py")


def idle(frames: list[str]) -> bool:
    """The event loop waiting: in epoll (asyncio's selector loop), or in uvloop's C loop,
    where py-spy sees no Python frame below `run_app` (uvloop's own C work, socket
    reads and writes, lands there too). A sample with no Python frame at all is a
    thread outside Python, not the loop's work."""
    if not frames:
        return True
    leaf = frames[-1]
    return package(leaf) == "selectors" or leaf.startswith("run_app (aiohttp/web.py")


def own_function(frame: str) -> str | None:
    match = _FRAME.match(frame)
    if match is None or not match["path"].startswith("portal_"):
        return None
    return f"{match['path'].removesuffix('.py').replace('/', '.')}.{match['function']}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    stacks = parse(args.profile.read_text())
    possible = args.seconds * args.rate

    threads: Counter[str] = Counter()
    for name, frames, count in stacks:
        if not idle(frames):
            threads[name] += count
    print("busy share of wall time per thread (1.00 = busy all the time):")
    for name, count in threads.most_common():
        print(f"  {name:<24} {count / possible:5.2f}")

    # Waiting in epoll is the loop being idle, not work.
    main_stacks = [
        (frames, count) for name, frames, count in stacks
        if name == "MainThread" and not idle(frames)
    ]
    busy = sum(count for _, count in main_stacks) or 1
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in main_stacks:
        self_time[package(frames[-1])] += count
        for function in {f for f in map(own_function, frames) if f is not None}:
            inclusive[function] += count
    print(f"\nMainThread, self time by package (share of its {busy} busy samples):")
    for name, count in self_time.most_common(args.top):
        print(f"  {name:<40} {count / busy:5.1%}")
    print("\nMainThread, our functions by inclusive time (share of its busy samples):")
    for name, count in inclusive.most_common(args.top):
        print(f"  {name:<64} {count / busy:5.1%}")


if __name__ == "__main__":
    main()
