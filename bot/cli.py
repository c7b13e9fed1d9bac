"""The ``nps-bot`` command line: shell, serve, worker, migrate, report."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.analytics import SEGMENT_FIELDS, NpsReport, UnknownSegmentField, nps_report
from bot.runtime import open_runtime
from bot.settings import Settings
from bot.shell import USER_PREFIX, ShellOptions, run_shell
from bot.surveys import SurveysFileError
from storage.database import DatabaseUnavailable, async_url
from storage.kv import RedisUnavailable
from storage.migrate import upgrade

logger = logging.getLogger(__name__)

app = typer.Typer(help="Run NPS surveys as chat conversations and bring the answers to Slack.",
                  pretty_exceptions_enable=False,
                  no_args_is_help=True, add_completion=False)
_STARTUP_ERRORS = (DatabaseUnavailable, RedisUnavailable, SurveysFileError)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _settings() -> Settings:
    return Settings()


def _migrate_embedded(settings: Settings) -> None:
    """Create or update the schema of a SQLite database, so the defaults need no set-up step.

    PostgreSQL is migrated by ``nps-bot migrate`` (the Procfile's release step) instead, so
    that several web and worker processes never race to migrate it.
    """
    if async_url(settings.database_url).get_backend_name() == "sqlite":
        upgrade(settings.database_url)


def _parse_attributes(pairs: list[str]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise _fail(f"--attr {pair!r} is not key=value, for example --attr customer_type=smb")
        attributes[key.strip()] = value.strip()
    return attributes


LocaleOption = Annotated[str | None, typer.Option(
    help="Language code the respondent's app reports, e.g. es or pt-BR.")]
CountryOption = Annotated[str | None, typer.Option(
    help="Two-letter country code of the respondent, e.g. BR.")]
AttributeOption = Annotated[list[str] | None, typer.Option(
    help="Segment attribute key=value; repeatable: customer_type, buyer_type, "
         "security_maturity, region, name, or any other key.")]
RespondentOption = Annotated[str | None, typer.Option(
    help="Continue as an existing console respondent id instead of a new one.")]
SurveyOption = Annotated[str | None, typer.Option(
    help="Survey id from surveys.toml; the first survey by default.")]
ScriptOption = Annotated[typer.FileText | None, typer.Option(
    help="Read one reply per line from this file ('-' for standard input) "
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
    settings = _settings()
    _configure_logging("WARNING" if settings.log_level.upper() == "INFO" else settings.log_level)
    options = ShellOptions(locale=locale, country=country, attributes=_parse_attributes(attr or []),
                           respondent_id=respondent, survey_id=survey)
    try:
        _migrate_embedded(settings)
        respondent_id = asyncio.run(_shell(settings, options, script))
    except (*_STARTUP_ERRORS, LookupError) as error:
        raise _fail(str(error)) from error
    typer.echo(f"(respondent id: {respondent_id})", err=True)


async def _shell(settings: Settings, options: ShellOptions, script: typer.FileText | None) -> str:
    runtime = await open_runtime(settings, alert_stream=sys.stdout)
    try:
        if script is not None:
            lines = [line.rstrip("\r\n") for line in script]
            replies = [line for line in lines if line.strip()]
            person = await run_shell(runtime, options, replies, sys.stdout, echo_replies=True)
        else:
            person = await run_shell(runtime, options, _typed_replies(), sys.stdout,
                                     echo_replies=False)
        return person.id
    finally:
        await runtime.close()


async def _typed_replies() -> AsyncIterator[str]:
    while True:
        sys.stdout.write(USER_PREFIX)
        sys.stdout.flush()
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            sys.stdout.write("\n")
            return
        if line.strip():
            yield line.rstrip("\r\n")


@app.command()
def migrate() -> None:
    """Create or update the database schema (the Procfile's release step)."""
    settings = _settings()
    _configure_logging(settings.log_level)
    try:
        upgrade(settings.database_url)
    except DatabaseUnavailable as error:
        raise _fail(str(error)) from error


@app.command()
def serve() -> None:
    """Run the web server: webhooks, Slack and /healthz."""
    from bot.web import run_server

    settings = _settings()
    _configure_logging(settings.log_level)
    try:
        _migrate_embedded(settings)
        asyncio.run(run_server(settings))
    except _STARTUP_ERRORS as error:
        raise _fail(str(error)) from error


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run every job one time and exit.")] = False,
) -> None:
    """Run the background jobs: expiring conversations, re-sending the outbox, posting alerts."""
    from bot.worker import run_worker

    settings = _settings()
    _configure_logging(settings.log_level)
    try:
        _migrate_embedded(settings)
        asyncio.run(run_worker(settings, once=once))
    except _STARTUP_ERRORS as error:
        raise _fail(str(error)) from error


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


ByOption = Annotated[list[str] | None, typer.Option(
    help=f"Segment field; repeatable. One of: {', '.join(SEGMENT_FIELDS)}.")]
SinceOption = Annotated[str | None, typer.Option(
    help="Only responses on or after this date, YYYY-MM-DD (UTC).")]
FormatOption = Annotated[ReportFormat, typer.Option("--format", help="Output format.")]


@app.command()
def report(
    by: ByOption = None,
    since: SinceOption = None,
    output_format: FormatOption = ReportFormat.TABLE,
) -> None:
    """Print NPS with n, promoters, passives, detractors and the 95 % margin of error."""
    settings = _settings()
    _configure_logging("WARNING" if settings.log_level.upper() == "INFO" else settings.log_level)
    start = _parse_date(since) if since else None
    fields = tuple(by or ())
    try:
        _migrate_embedded(settings)
        result = asyncio.run(_report(settings, fields, start))
    except (*_STARTUP_ERRORS, UnknownSegmentField) as error:
        raise _fail(str(error)) from error
    _print_report(result, fields, output_format)


def _parse_date(text: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _fail(f"--since {text!r} is not a date; write it as YYYY-MM-DD") from None
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
    table = Table(title="Net Promoter Score")
    for column in columns:
        table.add_column(column, justify="right" if column in metrics else "left")
    for row in rows:
        table.add_row(*("—" if row[column] is None else str(row[column]) for column in columns))
    Console().print(table)


def main() -> None:
    app()
