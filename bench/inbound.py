"""Measure inbound messages per second: signed Telegram webhooks through to stored answers.

Run from the repository root with PostgreSQL and Redis up: ``python bench/inbound.py``.

The script creates a scratch PostgreSQL database, starts ``nps-bot serve`` on it with Redis,
a Telegram Bot API sink that answers every call (in its own process), and a load generator
(in another process) that posts signed updates at the webhook: ``/start``, ``yes``, a score
and a reason per simulated user, each user's messages in order and up to ``--concurrency``
users at once. It prints messages per second twice: acknowledged by the webhook (answer, state
and reply committed) and delivered (every reply seen by the sink). ``--processes N`` starts N
servers side by side and spreads the users over them, as a load balancer would.

The baseline, in the same run and on the same machine, feeds the same updates to
python-telegram-bot's own ``Application.process_update`` with a ``ConversationHandler`` that
keeps its state in memory and replies to the same sink. The script drops the database and
the Redis keys it made, and exits 0 unless a step fails (2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import redis
from aiohttp import web

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from storage.migrate import upgrade  # noqa: E402

TOKEN = "123456:BENCH-token"
SECRET = "bench-webhook-secret"
REASON = "The support team answered quickly and fixed the problem"


@dataclass(frozen=True)
class Options:
    users: int
    concurrency: int
    admin_url: str
    redis_url: str
    server_port: int
    sink_port: int
    # Web processes side by side; users are spread over them as a load balancer would.
    processes: int = 1

    @property
    def ports(self) -> list[int]:
        return [self.server_port + index for index in range(self.processes)]


# -- the Telegram Bot API sink, in its own process --------------------------------------------

def run_sink(port: int, ready: Any) -> None:
    """Answer every Bot API call with success; count sendMessage calls at GET /stats."""
    counts = {"sendMessage": 0}

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        await request.read()
        if method == "getMe":
            return web.json_response({"ok": True, "result": {
                "id": 1, "is_bot": True, "first_name": "NPS", "username": "bench_bot"}})
        if method == "sendMessage":
            counts["sendMessage"] += 1
            return web.json_response({"ok": True, "result": {
                "message_id": counts["sendMessage"], "date": int(time.time()),
                "chat": {"id": 1, "type": "private"}, "text": "ok"}})
        return web.json_response({"ok": True, "result": True})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(counts)

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", api)
    app.router.add_get("/stats", stats)
    ready.set()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- the load generator, in its own process ---------------------------------------------------

def update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "from": {"id": chat_id, "is_bot": False, "first_name": "User", "language_code": "en"},
        "chat": {"id": chat_id, "type": "private", "first_name": "User"}}
    if text.startswith("/"):
        # Telegram marks commands with an entity; the SDK's CommandHandler reads it.
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": message}


def conversation(user: int, users: int) -> list[dict[str, Any]]:
    """Build the updates of one user: /start, consent, score, reason, with unique update ids."""
    chat_id = 100000 + user
    texts = ("/start", "yes", str(user % 11), REASON)
    return [update(1 + step * users + user, chat_id, text) for step, text in enumerate(texts)]


def run_load(urls: list[str], users: int, concurrency: int, results: Any) -> None:
    """Post every user's updates in order, users in parallel; put (seconds, statuses)."""
    results.put(asyncio.run(_load(urls, users, concurrency)))


async def _load(urls: list[str], users: int, concurrency: int) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(concurrency)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one_user(user: int) -> None:
            url = urls[user % len(urls)]
            async with gate:
                for body in conversation(user, users):
                    data = json.dumps(body).encode()
                    # A 503 means "still in progress": Telegram would deliver it again.
                    while True:
                        async with session.post(url, data=data, headers=headers) as response:
                            await response.read()
                        statuses[response.status] = statuses.get(response.status, 0) + 1
                        if response.status != 503:
                            break

        started = time.perf_counter()
        await asyncio.gather(*(one_user(user) for user in range(users)))
        return time.perf_counter() - started, statuses


# -- the server under test ------------------------------------------------------------------

@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    name = f"nps_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def servers(options: Options, database_url: str, prefix: str) -> Iterator[list[int]]:
    """Start the servers; yield their process ids."""
    processes = [_start_server(options, database_url, prefix, port) for port in options.ports]
    try:
        for port in options.ports:
            asyncio.run(_wait_healthy(port))
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _start_server(options: Options, database_url: str, prefix: str,
                  port: int) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ, "DATABASE_URL": database_url, "REDIS_URL": options.redis_url,
        "NPS_REDIS_PREFIX": prefix, "PORT": str(port), "NPS_HOST": "127.0.0.1",
        "NPS_TELEGRAM_BOT_TOKEN": TOKEN, "NPS_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "NPS_TELEGRAM_BASE_URL": f"http://127.0.0.1:{options.sink_port}/bot",
        "NPS_LOG_LEVEL": "WARNING",
    }
    # Without surveys.toml in the repository root the built-in demo survey runs.
    environment.pop("NPS_SURVEYS_FILE", None)
    return subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "serve"],
                            env=environment, cwd=REPOSITORY, stdout=subprocess.DEVNULL)


async def _wait_healthy(port: int) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nps-bot serve did not answer /healthz on port {port}")


async def _replies_delivered(sink_port: int, expected: int, limit: float = 120.0) -> float:
    """Wait until the sink has seen ``expected`` replies; return when, in perf_counter time."""
    async with aiohttp.ClientSession() as session:
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            async with session.get(f"http://127.0.0.1:{sink_port}/stats") as response:
                counts = await response.json()
            if counts["sendMessage"] >= expected:
                return time.perf_counter()
            await asyncio.sleep(0.01)
    raise RuntimeError(f"the sink saw {counts['sendMessage']} of {expected} replies")


async def _sink_count(sink_port: int) -> int:
    async with aiohttp.ClientSession() as session, session.get(
        f"http://127.0.0.1:{sink_port}/stats"
    ) as response:
        return int((await response.json())["sendMessage"])


def measure_server(options: Options) -> dict[str, float]:
    prefix = f"nps-bench-{uuid.uuid4().hex[:8]}:"
    context = multiprocessing.get_context("spawn")
    try:
        with scratch_database(options.admin_url) as database_url:
            upgrade(database_url)
            with servers(options, database_url, prefix) as pids:
                before = asyncio.run(_sink_count(options.sink_port))
                cpu_before = _cpu_seconds(pids)
                database_before = _backend_cpu(database_url)
                results = context.Queue()
                urls = [f"http://127.0.0.1:{port}/webhooks/telegram" for port in options.ports]
                load = context.Process(target=run_load,
                                       args=(urls, options.users, options.concurrency, results))
                started = time.perf_counter()
                load.start()
                seconds, statuses = results.get(timeout=600)
                load.join()
                # Every message gets one reply, and the last one the thanks.
                expected = before + 4 * options.users
                delivered = asyncio.run(_replies_delivered(options.sink_port, expected))
                cpu_after = _cpu_seconds(pids)
                database_after = _backend_cpu(database_url)
            stored = _count_responses(database_url)
    finally:
        _drop_prefix(options.redis_url, prefix)
    messages = 4 * options.users
    cpu = (cpu_after - cpu_before) if cpu_before is not None and cpu_after is not None else -1
    # Backends that were already open count from their time then; new ones from zero.
    database_cpu = sum(seconds - database_before.get(pid, 0.0)
                       for pid, seconds in database_after.items())
    return {"messages": messages, "seconds": seconds, "acknowledged": messages / seconds,
            "cpu_ms_per_message": 1000 * cpu / messages if cpu >= 0 else -1,
            "database_cpu_ms_per_message": 1000 * database_cpu / messages,
            "delivered": messages / (delivered - started), "stored": stored,
            "retried": statuses.get(503, 0), "failed": sum(
                count for status, count in statuses.items() if status not in (200, 503))}


def _cpu_seconds(pids: list[int]) -> float | None:
    """CPU time the servers have used so far, from /proc; None where there is no /proc.

    Other work on a shared machine slows the servers down, but moves this figure far less
    than the messages per second, so runs on a busy machine can still be compared.
    """
    total = 0.0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            # utime and stime, fields 14 and 15 of proc(5), counted after the command name.
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return total


def _backend_cpu(database_url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the scratch database, by pid;
    empty where PostgreSQL runs on another machine or /proc cannot be read."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()").fetchall()
    found = {}
    for (pid,) in rows:
        seconds = _cpu_seconds([int(pid)])
        if seconds is not None:
            found[int(pid)] = seconds
    return found


def _count_responses(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM response").fetchone()
    return int(row[0]) if row else 0


def _drop_prefix(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# -- the baseline: python-telegram-bot's ConversationHandler, in memory ---------------------

def measure_baseline(options: Options) -> dict[str, float]:
    return asyncio.run(_baseline(options))


async def _baseline(options: Options) -> dict[str, float]:
    from telegram import Bot, Update
    from telegram.ext import (
        Application,
        CommandHandler,
        ContextTypes,
        ConversationHandler,
        MessageHandler,
        filters,
    )
    from telegram.request import HTTPXRequest

    consent, score, reason = range(3)

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        await update.effective_message.reply_text("May we store your answers?")
        return consent

    async def on_consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        await update.effective_message.reply_text("How likely are you to recommend us, 0-10?")
        return score

    async def on_score(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        text = update.effective_message.text or ""
        if not text.isdigit() or not 0 <= int(text) <= 10:
            await update.effective_message.reply_text("Please send a number from 0 to 10.")
            return score
        context.user_data["score"] = int(text)
        await update.effective_message.reply_text("Why?")
        return reason

    async def on_reason(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        context.user_data["reason"] = update.effective_message.text
        await update.effective_message.reply_text("Thank you!")
        return ConversationHandler.END

    text = filters.TEXT & ~filters.COMMAND
    handler = ConversationHandler(
        entry_points=[CommandHandler("start", on_start)],
        states={consent: [MessageHandler(text, on_consent)],
                score: [MessageHandler(text, on_score)],
                reason: [MessageHandler(text, on_reason)]},
        fallbacks=[],
    )
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{options.sink_port}/bot",
              request=HTTPXRequest(connection_pool_size=options.concurrency))
    application = Application.builder().bot(bot).build()
    application.add_handler(handler)
    gate = asyncio.Semaphore(options.concurrency)

    async def one_user(user: int) -> None:
        async with gate:
            for body in conversation(user, options.users):
                await application.process_update(Update.de_json(body, bot))

    async with application:
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one_user(user) for user in range(options.users)))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        stored = sum(1 for data in application.user_data.values() if "reason" in data)
    messages = 4 * options.users
    return {"messages": messages, "seconds": seconds, "processed": messages / seconds,
            "stored": stored, "cpu_ms_per_message": 1000 * cpu / messages}


# -- report ---------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300, help="simulated users (4 messages each)")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="users whose messages are in flight at once")
    parser.add_argument("--postgres", default=os.environ.get(
        "NPS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="an existing database to connect to while creating the scratch database")
    parser.add_argument("--redis", default=os.environ.get(
        "NPS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"), help="Redis URL")
    parser.add_argument("--port", type=int, default=18080,
                        help="port of the first nps-bot serve; more use the next ports")
    parser.add_argument("--processes", type=int, default=1,
                        help="nps-bot serve processes side by side, as behind a load balancer")
    parser.add_argument("--sink-port", type=int, default=18070, help="port of the Bot API sink")
    arguments = parser.parse_args()
    options = Options(arguments.users, arguments.concurrency, arguments.postgres,
                      arguments.redis, arguments.port, arguments.sink_port, arguments.processes)

    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    sink = context.Process(target=run_sink, args=(options.sink_port, ready), daemon=True)
    sink.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the Bot API sink did not start")
        time.sleep(0.5)
        ours = measure_server(options)
        baseline = measure_baseline(options)
    except (RuntimeError, OSError, psycopg.Error, redis.RedisError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        sink.terminate()
        sink.join()

    _print(options, ours, baseline)
    return 0


def _print(options: Options, ours: dict[str, float], baseline: dict[str, float]) -> None:
    print(f"inbound benchmark: {options.users} users x 4 messages, concurrency "
          f"{options.concurrency}, {os.cpu_count()} CPUs")
    print(f"  nps-bot serve x {options.processes} (aiohttp, PostgreSQL, Redis): "
          f"{ours['acknowledged']:.0f} msg/s "
          f"acknowledged, {ours['delivered']:.0f} msg/s with every reply delivered "
          f"({ours['messages']:.0f} messages in {ours['seconds']:.2f} s; "
          f"{ours['stored']:.0f} responses stored, {ours['retried']:.0f} retried after 503, "
          f"{ours['failed']:.0f} failed)")
    if ours["cpu_ms_per_message"] >= 0:
        print(f"  CPU time per message: {ours['cpu_ms_per_message']:.1f} ms in the "
              f"{options.processes} server processes, "
              f"{ours['database_cpu_ms_per_message']:.1f} ms in PostgreSQL backends")
    print(f"  python-telegram-bot Application.process_update + ConversationHandler "
          f"(in memory): {baseline['processed']:.0f} msg/s ({baseline['messages']:.0f} "
          f"messages in {baseline['seconds']:.2f} s; {baseline['stored']:.0f} conversations "
          f"finished; {baseline['cpu_ms_per_message']:.1f} ms CPU per message)")
    print(f"  ratio acknowledged / baseline: {ours['acknowledged'] / baseline['processed']:.2f}; "
          f"delivered / baseline: {ours['delivered'] / baseline['processed']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
