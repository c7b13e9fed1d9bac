"""Helpers every ``nps-bot`` command shares: settings, logging, errors and migrations."""

from __future__ import annotations

import logging
import sys

import typer
from pydantic import ValidationError

from bot.settings import Settings
from bot.surveys import SurveysFileError
from storage.database import DatabaseUnavailable, async_url
from storage.kv import RedisUnavailable
from storage.migrate import upgrade

STARTUP_ERRORS = (DatabaseUnavailable, RedisUnavailable, SurveysFileError)


def configure_logging(level: str) -> None:
    """Send log records to standard error at ``level``."""
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` and return the exit (code 2) for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def load_settings() -> Settings:
    """Read the settings, turning a bad environment variable into a one-line error."""
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']).upper()}: {problem['msg']}"
            for problem in error.errors()
        )
        raise fail(f"invalid setting in the environment: {problems}") from error
    if "surveys_file" in settings.model_fields_set and not settings.surveys_file.is_file():
        raise fail(f"NPS_SURVEYS_FILE {str(settings.surveys_file)!r} is not a file; "
                    "fix the path or unset it to run the built-in demo survey")
    return settings


def migrate_embedded(settings: Settings) -> None:
    """Create or update the schema of a SQLite database, so the defaults need no set-up step.

    PostgreSQL is migrated by ``nps-bot migrate`` (the Procfile's release step) instead, so
    that several web and worker processes never race to migrate it.
    """
    if async_url(settings.database_url).get_backend_name() == "sqlite":
        upgrade(settings.database_url)


def parse_attributes(pairs: list[str]) -> dict[str, str]:
    """Turn repeated ``--attr key=value`` options into a dict; exit with an error if malformed."""
    attributes: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise fail(f"--attr {pair!r} is not key=value, for example --attr customer_type=smb")
        attributes[key.strip()] = value.strip()
    return attributes
