"""The alembic migration creates every table and can be undone."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.migrate import downgrade, upgrade


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_model_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)

    assert _tables(url) == set(SQLModel.metadata.tables) | {"alembic_version"}


def test_downgrade_removes_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    downgrade(url, "base")

    assert _tables(url) == {"alembic_version"}


def test_migration_matches_models(tmp_path: Path) -> None:
    """Autogenerate finds nothing to add, so the models and the migration agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'compare.db'}"
    upgrade(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()

    assert differences == []


async def test_runtime_requires_migrated_schema(tmp_path: Path) -> None:
    from bot.runtime import open_runtime
    from bot.settings import Settings
    from storage.database import DatabaseUnavailable

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    settings = Settings(database_url=url, redis_url=None, surveys_file=tmp_path / "none.toml")
    expected = r"revision none, this version needs \w+; run `nps-bot migrate` first"
    with pytest.raises(DatabaseUnavailable, match=expected):
        await open_runtime(settings)
