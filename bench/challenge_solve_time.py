"""How long Chromium takes to solve the login/registration challenge, with the portal's
own worker script (static/challenge-worker.js), to choose ALTCHA_MAX_NUMBER.

    .venv/bin/python bench/challenge_solve_time.py [--max-number N] [--rounds R] [--workers W]

Serves the portal's static files on 127.0.0.1, has headless Chromium (Debian's package)
solve R fresh challenges the way portal.js does (the range split over the machine's
cores, at most four Web Workers), and prints the hash rate and the solve times. The
secret number is uniform in 0..N, so the mean work is N/2 hashes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics

from aiohttp import web
from altcha import create_challenge_v1
from playwright.async_api import async_playwright

from portal_auth.config import AuthSettings
from portal_web.rendering import STATIC_DIR

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
PAGE = "<!doctype html><title>challenge</title>"
# As portal.js does it: the range split over up to four workers (or `workers`).
SOLVE_LIKE_THE_PAGE = """async ({task, workers}) => {
  const count = workers || Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));
  const size = Math.ceil((task.maxNumber + 1) / count);
  const started = performance.now();
  const pool = [];
  const number = await new Promise((resolve) => {
    for (let i = 0; i < count; i++) {
      const worker = new Worker("/static/challenge-worker.js");
      pool.push(worker);
      worker.onmessage = (e) => { if (typeof e.data.number === "number") resolve(e.data.number); };
      worker.postMessage({...task, from: i * size, to: Math.min((i + 1) * size - 1, task.maxNumber)});
    }
  });
  pool.forEach((w) => w.terminate());
  return {number, took: performance.now() - started, workers: count};
}"""


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-number", type=int, default=AuthSettings.model_fields["altcha_max_number"].default)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--workers", type=int, default=0, help="0: as the page (cores, at most 4)")
    args = parser.parse_args()

    app = web.Application()
    app.router.add_get("/", lambda _: web.Response(text=PAGE, content_type="text/html"))
    app.router.add_static("/static", str(STATIC_DIR))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    rates, times = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(f"http://127.0.0.1:{port}/")
        for _ in range(args.rounds):
            challenge = create_challenge_v1(hmac_key="bench", max_number=args.max_number).to_dict()
            task = {k: challenge[k] for k in ("algorithm", "challenge", "maxNumber", "salt")}
            result = await page.evaluate(SOLVE_LIKE_THE_PAGE, {"task": task, "workers": args.workers})
            took = max(1, result["took"]) / 1000
            times.append(took)
            # Hashes tried until the find: each worker searched its own slice from its start.
            size = -(-(args.max_number + 1) // result["workers"])
            tried = (result["number"] % size + 1) * result["workers"]
            if tried > 5000:  # too quick a find says nothing about the rate
                rates.append(tried / took)
            print(f"n={result['number']:>9}  {took * 1000:7.0f} ms  ({result['workers']} workers)")
        await browser.close()
    await runner.cleanup()

    rate = statistics.median(rates)
    print(f"max number {args.max_number}: median rate {rate:,.0f} hashes/s; "
          f"solve time median {statistics.median(times):.2f} s, mean {statistics.mean(times):.2f} s, "
          f"max {max(times):.2f} s; expected mean {args.max_number / 2 / rate:.2f} s, "
          f"worst case {args.max_number / rate:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
