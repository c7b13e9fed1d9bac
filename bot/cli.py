"""The ``nps-bot`` command line: shell, serve, worker, migrate, report."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.analytics import SEGMENT_FIELDS, NpsReport, UnknownSegmentField, nps_report
from bot.channel_cli import invite, telegram_app
from bot.cli_support import (
    STARTUP_ERRORS,
    configure_logging,
    fail,
    load_settings,
    migrate_embedded,
    parse_attributes,
)
from bot.eligibility import SurveyNotAllowed
from bot.runtime import open_runtime
from bot.settings import Settings
from bot.shell import USER_PREFIX, ShellOptions, ShellSession
from flows.catalog import SUPPORTED_LOCALES
from flows.language import normalize_locale
from storage.database import DatabaseUnavailable
from storage.migrate import upgrade

logger = logging.getLogger(__name__)

app = typer.Typer(help="Run NPS surveys as chat conversations and bring the answers to Slack.",
                  pretty_exceptions_enable=False,
                  no_args_is_help=True, add_completion=False)
LocaleOption = Annotated[str | None, typer.Option(
    metavar="CODE", help="Language code the respondent's app reports, e.g. es or pt-BR.")]
CountryOption = Annotated[str | None, typer.Option(
    metavar="CC", help="Two-letter country code of the respondent, e.g. BR.")]
AttributeOption = Annotated[list[str] | None, typer.Option(
    metavar="KEY=VALUE", help="Segment attribute key=value; repeatable: customer_type, buyer_type, "
         "security_maturity, region, name, or any other key.")]
RespondentOption = Annotated[str | None, typer.Option(
    metavar="ID", help="Continue as an existing console respondent id instead of a new one.")]
SurveyOption = Annotated[str | None, typer.Option(
    metavar="ID", help="Survey id from surveys.toml; the first survey by default.")]
ScriptOption = Annotated[str | None, typer.Option(
    metavar="FILE",
    help="Read one reply per line from this UTF-8 file ('-' for standard input) "
         "and print every bot message.")]


@app.command()
def shell(
    locale: LocaleOption = None,
    country: CountryOption = None,
    attr: AttributeOption = None,
    respondent: RespondentOption = None,
    survey: SurveyOption = None,
    script: ScriptOption = None,
) -> None:
    """Answer a survey in the terminal as one respondent."""
    settings = load_settings()
    configure_logging("WARNING" if settings.log_level.upper() == "INFO" else settings.log_level)
    options = ShellOptions(locale=_checked_locale(locale), country=_checked_country(country),
                           attributes=parse_attributes(attr or []),
                           respondent_id=respondent, survey_id=survey)
    replies = _read_script(script) if script is not None else None
    try:
        migrate_embedded(settings)
        respondent_id = _run_shell(settings, options, replies)
    except (*STARTUP_ERRORS, LookupError, SurveyNotAllowed) as error:
        raise fail(str(error)) from error
    if respondent_id:
        typer.echo(f"(respondent id: {respondent_id})", err=True)


def _checked_locale(code: str | None) -> str | None:
    if code is not None and normalize_locale(code) is None:
        raise fail(f"--locale {code!r} is not a supported language; "
                    f"use one of {', '.join(SUPPORTED_LOCALES)} (or a code such as pt-BR)")
    return code


def _checked_country(code: str | None) -> str | None:
    if code is not None and not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise fail(f"--country {code!r} is not a two-letter ISO 3166 code, for example BR")
    return code.upper() if code else None


def _read_script(name: str) -> list[str]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read --script {name!r} as UTF-8 text: {error}") from error
    return [line for line in text.splitlines() if line.strip()]


def _run_shell(settings: Settings, options: ShellOptions, replies: list[str] | None) -> str | None:
    """Run the conversation; the terminal is read outside the event loop so Ctrl-C works."""
    with asyncio.Runner() as runner:
        runtime = runner.run(open_runtime(settings, alert_stream=sys.stdout))
        session = ShellSession(runtime, options, sys.stdout)
        try:
            runner.run(session.open())
            if replies is None:
                _chat(runner, session)
            else:
                _replay(runner, session, replies)
        except KeyboardInterrupt:
            sys.stdout.write("\n")
        finally:
            runner.run(runtime.close())
        return session.respondent_id


def _chat(runner: asyncio.Runner, session: ShellSession) -> None:
    while not runner.run(session.finished()):
        try:
            line = input(USER_PREFIX)
        except EOFError:
            sys.stdout.write("\n")
            return
        if line.strip():
            runner.run(session.reply(line))


def _replay(runner: asyncio.Runner, session: ShellSession, replies: list[str]) -> None:
    for index, text in enumerate(replies):
        if runner.run(session.finished()):
            typer.echo(f"(the conversation ended; {len(replies) - index} more replies not sent)",
                       err=True)
            return
        sys.stdout.write(f"{USER_PREFIX}{text}\n")
        runner.run(session.reply(text))


@app.command()
def migrate() -> None:
    """Create or update the database schema (the Procfile's release step)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        upgrade(settings.database_url)
    except DatabaseUnavailable as error:
        raise fail(str(error)) from error


@app.command()
def serve(
    telegram_polling: Annotated[bool, typer.Option(
        help="Also fetch Telegram updates by long polling, for local use without a webhook.")
    ] = False,
) -> None:
    """Run the web server: webhooks, Slack and /healthz."""
    from bot.web import run_server

    settings = load_settings()
    configure_logging(settings.log_level)
    if telegram_polling and settings.telegram_bot_token is None:
        raise fail("--telegram-polling needs NPS_TELEGRAM_BOT_TOKEN; it is not set")
    try:
        migrate_embedded(settings)
        asyncio.run(run_server(settings, telegram_polling_mode=telegram_polling))
    except STARTUP_ERRORS as error:
        raise fail(str(error)) from error


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run every job one time and exit.")] = False,
) -> None:
    """Run the background jobs: expiring conversations, re-sending the outbox, posting alerts."""
    from bot.worker import run_worker

    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        migrate_embedded(settings)
        asyncio.run(run_worker(settings, once=once))
    except STARTUP_ERRORS as error:
        raise fail(str(error)) from error


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


ByOption = Annotated[list[str] | None, typer.Option(
    metavar="FIELD", help=f"Segment field; repeatable. One of: {', '.join(SEGMENT_FIELDS)}.")]
SinceOption = Annotated[str | None, typer.Option(
    metavar="YYYY-MM-DD", help="Only responses on or after this date, YYYY-MM-DD (UTC).")]
FormatOption = Annotated[ReportFormat, typer.Option("--format", help="Output format.")]


@app.command()
def report(
    by: ByOption = None,
    since: SinceOption = None,
    output_format: FormatOption = ReportFormat.TABLE,
) -> None:
    """Print NPS with n, promoters, passives, detractors and the 95 % margin of error."""
    settings = load_settings()
    configure_logging("WARNING" if settings.log_level.upper() == "INFO" else settings.log_level)
    start = _parse_date(since) if since else None
    fields = tuple(dict.fromkeys(by or ()))
    try:
        migrate_embedded(settings)
        result = asyncio.run(_report(settings, fields, start))
    except (*STARTUP_ERRORS, UnknownSegmentField) as error:
        raise fail(str(error)) from error
    _print_report(result, fields, output_format)


def _parse_date(text: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise fail(f"--since {text!r} is not a date; write it as YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def _report(settings: Settings, by: tuple[str, ...], since: datetime | None) -> NpsReport:
    runtime = await open_runtime(settings)
    try:
        async with runtime.sessions() as session:
            return await nps_report(session, by=by, since=since)
    finally:
        await runtime.close()


def _print_report(result: NpsReport, by: tuple[str, ...], output_format: ReportFormat) -> None:
    if output_format is ReportFormat.JSON:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    metrics = ("nps", "n", "promoters", "passives", "detractors", "margin_of_error")
    rows = [{**dict.fromkeys(by, "(all)"), **result.overall.as_dict()}]
    for segment in result.segments:
        key = {name: "(none)" if value is None else value for name, value in segment.key.items()}
        rows.append({**key, **segment.figures.as_dict()})
    columns = (*by, *metrics)
    if output_format is ReportFormat.CSV:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(
        title="Net Promoter Score",
        caption="margin_of_error: half-width of the 95 % confidence interval, in NPS points; "
                "segments with n < 30 are too small to trust",
    )
    for column in columns:
        table.add_column(column, justify="right" if column in metrics else "left")
    for row in rows:
        table.add_row(*("—" if row[column] is None else str(row[column]) for column in columns))
    Console().print(table)


app.command()(invite)
app.add_typer(telegram_app, name="telegram")


def main() -> None:
    app()
