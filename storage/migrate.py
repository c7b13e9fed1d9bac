"""Schema migrations with alembic, for ``nps-bot migrate`` and the Procfile's release step."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config

from storage.database import ensure_sqlite_folder, redacted, sync_url

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
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
