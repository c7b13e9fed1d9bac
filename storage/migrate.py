"""Schema migrations with alembic, for ``nps-bot migrate`` and the Procfile's release step."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import DatabaseUnavailable, ensure_sqlite_folder, redacted, sync_url

logger = logging.getLogger(__name__)


def alembic_config(database_url: str) -> Config:
    """Build the alembic configuration for ``database_url`` without an ini file."""
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    url = sync_url(database_url).render_as_string(hide_password=False)
    # ConfigParser treats "%" as interpolation; a password may contain one.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema at ``database_url`` up to ``revision``."""
    ensure_sqlite_folder(database_url)
    logger.info("migrating %s to %s", redacted(database_url), revision)
    try:
        command.upgrade(alembic_config(database_url), revision)
    except OperationalError as error:
        raise DatabaseUnavailable(
            f"cannot migrate the database at {redacted(database_url)}: {error.orig}"
        ) from error


def head_revision() -> str | None:
    """Return the newest migration this version of the code ships."""
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    return ScriptDirectory.from_config(config).get_current_head()


async def check_schema(engine: AsyncEngine) -> None:
    """Raise DatabaseUnavailable unless the schema is at the newest migration."""
    async with engine.connect() as connection:
        current = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    expected = head_revision()
    if current != expected:
        shown = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(
            f"the database at {shown} is at schema revision {current or 'none'}, "
            f"this version needs {expected}; run `nps-bot migrate` first"
        )


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
