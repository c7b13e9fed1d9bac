"""Benchmark ``/nps`` on 1,000,000 responses in PostgreSQL, next to DuckDB on the same rows.

Creates a scratch database on the PostgreSQL server of ``--postgres-url`` (dropped at the
end), migrates it, and generates inside PostgreSQL 50,000 respondents, 1,000,000
conversations and responses over the last 365 days, and 3,000,000 invitations. Rows are
inserted oldest first, as a live system appends them, so rows of one period sit together.
Ten ``/nps`` commands then run through the bot's own code (``NpsCommand.answer``: parse,
grouped SQL, Block Kit), each ``--repeat`` times after one warm-up run, and p50/p95 are
printed per command. The same rows are copied into an in-memory DuckDB database, where the
same GROUP BY statements (compiled from the same SQLAlchemy queries) run as many times.

    python bench/nps_query.py [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
        [--surveys surveys.toml]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
import psycopg
from sqlalchemy.dialects import postgresql

from bot.analytics import figures_query, rates_query
from bot.runtime import open_runtime
from bot.settings import Settings
from bot.slack.commands import NpsCommand
from bot.slack.grammar import NpsQuery, trend_windows
from bot.surveys import SurveysFile
from storage import rollups
from storage.migrate import upgrade
from storage.types import utcnow

RESPONSES = 1_000_000
RESPONDENTS = 50_000
INVITATIONS = 3_000_000

COMMANDS = (
    "",
    "by region",
    "last 90d",
    "by region last 90d",
    "region=APAC quarter",
    "country=BR by customer_type last 12w",
    "customer_type=enterprise channel=whatsapp last 90d",
    "trend weekly",
    "trend monthly by region",
    "since {year_ago} by region",
)

# Country, region, language, scale: JP and KR are asked on 1-5.
MARKETS = (
    ("US", "AMER", "en", "0-10"), ("CA", "AMER", "en", "0-10"), ("MX", "LATAM", "es", "0-10"),
    ("BR", "LATAM", "pt_BR", "0-10"), ("AR", "LATAM", "es", "0-10"),
    ("CL", "LATAM", "es", "0-10"), ("GB", "EMEA", "en", "0-10"), ("DE", "EMEA", "de", "0-10"),
    ("FR", "EMEA", "fr", "0-10"), ("ES", "EMEA", "es", "0-10"), ("TR", "EMEA", "tr", "0-10"),
    ("JP", "APAC", "ja", "1-5"), ("KR", "APAC", "ko", "1-5"), ("IN", "APAC", "en", "0-10"),
    ("ID", "APAC", "id", "0-10"), ("SG", "APAC", "en", "0-10"), ("AU", "APAC", "en", "0-10"),
    ("CN", "APAC", "zh_Hans", "0-10"),
)


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in values) + "]"


def _market(index: int, number: str = "r") -> str:
    """SQL for market column ``index`` of the respondent numbered ``number`` (arrays are
    1-based)."""
    return f"({_array([market[index] for market in MARKETS])})[1 + {number} % {len(MARKETS)}]"


GENERATE = f"""
INSERT INTO respondent (id, channel, address, locale, locale_source, country, region,
                        customer_type, buyer_type, security_maturity, attributes, created_at)
SELECT md5('r' || r), (ARRAY['whatsapp', 'telegram', 'wechat'])[1 + r % 3],
       'bench:' || r, {_market(2)}, 0, {_market(0)}, {_market(1)},
       (ARRAY['smb', 'mid_market', 'enterprise'])[1 + (r / 7) % 3],
       (ARRAY['direct', 'partner'])[1 + (r / 5) % 2],
       (ARRAY['low', 'medium', 'high'])[1 + (r / 11) % 3], '{{}}', now()
FROM generate_series(0, {RESPONDENTS - 1}) AS r;

INSERT INTO conversation (id, respondent_id, survey_id, step, locale, outcome, state, deadline,
                          version, created_at, updated_at)
SELECT md5('c' || g), md5('r' || (g % {RESPONDENTS})), 'relationship', 'done', 'en',
       'completed', '{{}}', now(), 1, now(), now()
FROM generate_series(1, {RESPONSES}) AS g;

INSERT INTO response (id, conversation_id, respondent_id, survey_id, scale, score, category,
                      raw_text, locale, channel, touchpoint, region, country, language,
                      customer_type, buyer_type, security_maturity, attributes, created_at,
                      updated_at)
SELECT md5('s' || base.g), md5('c' || base.g), p.id, s.survey, p.scale, s.score,
       CASE WHEN p.scale = '0-10' AND s.score >= 9 OR p.scale = '1-5' AND s.score = 5
            THEN 'promoter'
            WHEN p.scale = '0-10' AND s.score <= 6 OR p.scale = '1-5' AND s.score <= 2
            THEN 'detractor' ELSE 'passive' END,
       s.score::text, p.locale, p.channel, s.survey, p.region, p.country, p.locale,
       p.customer_type, p.buyer_type, p.security_maturity, '{{}}', s.at, s.at
FROM (
    SELECT g, g % {RESPONDENTS} AS r,
           CASE WHEN g % 5 = 0 THEN 'support-ticket' ELSE 'relationship' END AS survey,
           random() AS u, now() - interval '365 days' * ({RESPONSES} - g) / {RESPONSES} AS at
    FROM generate_series(1, {RESPONSES}) AS g
) AS base
CROSS JOIN LATERAL (
    SELECT md5('r' || base.r) AS id, {_market(3, 'base.r')} AS scale,
           {_market(2, 'base.r')} AS locale,
           (ARRAY['whatsapp', 'telegram', 'wechat'])[1 + base.r % 3] AS channel,
           {_market(1, 'base.r')} AS region,
           {_market(0, 'base.r')} AS country,
           (ARRAY['smb', 'mid_market', 'enterprise'])[1 + (base.r / 7) % 3] AS customer_type,
           (ARRAY['direct', 'partner'])[1 + (base.r / 5) % 2] AS buyer_type,
           (ARRAY['low', 'medium', 'high'])[1 + (base.r / 11) % 3] AS security_maturity
) AS p
CROSS JOIN LATERAL (
    SELECT base.g, base.survey, base.at,
           CASE WHEN p.scale = '1-5' THEN 1 + floor(power(base.u, 0.7) * 5)::int
                ELSE floor(power(base.u, 0.6) * 11)::int END AS score
) AS s;

INSERT INTO invitation (id, survey_id, respondent_id, trigger_kind, due_at, status, attempts,
                        created_at, updated_at)
SELECT md5('i' || g), 'relationship', md5('r' || (g % {RESPONDENTS})), 'bench', at,
       CASE WHEN g % 3 = 0 THEN 'answered' WHEN g % 3 = 1 THEN 'sent' ELSE 'expired' END,
       1, at, at
FROM (SELECT g, now() - interval '365 days' * ({INVITATIONS} - g) / {INVITATIONS} AS at
      FROM generate_series(1, {INVITATIONS}) AS g) AS base;
"""

RESPONSE_COLUMNS = ("created_at", "scale", "category", "region", "country", "language",
                    "customer_type", "buyer_type", "security_maturity", "channel", "survey_id",
                    "touchpoint")


def _load_postgres(url: str) -> None:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        # Counting row by row in the triggers would triple the load time; the rollups are
        # rebuilt in one pass afterwards instead, as the migration does.
        connection.execute("ALTER TABLE response DISABLE TRIGGER response_rollup_count")
        connection.execute("ALTER TABLE invitation DISABLE TRIGGER invitation_rollup_count")
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                connection.execute(statement)
        connection.execute("ALTER TABLE response ENABLE TRIGGER response_rollup_count")
        connection.execute("ALTER TABLE invitation ENABLE TRIGGER invitation_rollup_count")
        for statement in rollups.REBUILD:
            connection.execute(statement)
        for table in ("respondent", "conversation", "response", "invitation",
                      *rollups.RESPONSE_TABLES.values(), *rollups.INVITATION_TABLES.values()):
            connection.execute(f"VACUUM ANALYZE {table}")
    print(f"generated {RESPONSES:,} responses and {INVITATIONS:,} invitations in PostgreSQL "
          f"in {time.perf_counter() - started:.0f} s", flush=True)


def _load_duckdb(url: str, folder: Path) -> duckdb.DuckDBPyConnection:
    """Copy the rows the queries read into an in-memory DuckDB, through CSV files."""
    started = time.perf_counter()
    exports = {
        "response": f"SELECT {', '.join(RESPONSE_COLUMNS)} FROM response",
        "invitation": "SELECT respondent_id, survey_id, touchpoint, due_at, status "
                      "FROM invitation",
        "respondent": "SELECT id, region, country, locale, customer_type, buyer_type, "
                      "security_maturity, channel FROM respondent",
    }
    database = duckdb.connect()
    with psycopg.connect(url) as connection:
        for table, query in exports.items():
            path = folder / f"{table}.csv"
            with path.open("wb") as handle, connection.cursor().copy(
                    f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for chunk in copy:
                    handle.write(chunk)
            database.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv_auto('{path}')")
    print(f"copied the same rows into DuckDB in {time.perf_counter() - started:.0f} s",
          flush=True)
    return database


def _statements(query: NpsQuery, surveys: SurveysFile) -> list[str]:
    """The GROUP BY statements an ``/nps`` answer runs, rendered as SQL text."""
    period = query.period
    built = [figures_query(windows=[period.current, period.previous], by=query.by,
                           filters=query.filters),
             rates_query(windows=[period.current], by=query.by, filters=query.filters)]
    if query.trend:
        windows = trend_windows(query.trend, period.current, surveys.slack.zone)
        built += [figures_query(windows=windows, by=query.by, filters=query.filters),
                  rates_query(windows=windows, by=query.by, filters=query.filters)]
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return [str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            for statement in built]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def _measure(url: str, duck: duckdb.DuckDBPyConnection, repeat: int,
                   surveys: Path) -> None:
    settings = Settings(database_url=url, surveys_file=surveys)
    runtime = await open_runtime(settings, channels={})
    command = NpsCommand(sessions=runtime.sessions, surveys=runtime.surveys)
    year_ago = (utcnow().date().replace(year=utcnow().year - 1)).isoformat()
    all_pg: list[float] = []
    all_duck: list[float] = []
    print(f"\n{'/nps command':<52} {'PG p50':>8} {'PG p95':>8} {'Duck p50':>9} {'Duck p95':>9}")
    try:
        for text in COMMANDS:
            text = text.format(year_ago=year_ago)
            query = command.parse(text)
            statements = _statements(query, runtime.surveys)
            await command.answer(query)
            pg_times = []
            for _ in range(repeat):
                started = time.perf_counter()
                await command.answer(command.parse(text))
                pg_times.append(1000 * (time.perf_counter() - started))
            duck_times = []
            for statement in [*statements]:
                duck.execute(statement).fetchall()
            for _ in range(repeat):
                started = time.perf_counter()
                for statement in statements:
                    duck.execute(statement).fetchall()
                duck_times.append(1000 * (time.perf_counter() - started))
            all_pg += pg_times
            all_duck += duck_times
            pg50, pg95 = _percentiles(pg_times)
            duck50, duck95 = _percentiles(duck_times)
            print(f"{'/nps ' + text:<52} {pg50:>6.1f}ms {pg95:>6.1f}ms {duck50:>7.1f}ms "
                  f"{duck95:>7.1f}ms", flush=True)
    finally:
        await runtime.close()
    pg50, pg95 = _percentiles(all_pg)
    duck50, duck95 = _percentiles(all_duck)
    print(f"{'all ten commands':<52} {pg50:>6.1f}ms {pg95:>6.1f}ms {duck50:>7.1f}ms "
          f"{duck95:>7.1f}ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--postgres-url", default=os.environ.get(
        "NPS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a database on the server to benchmark; a scratch database is created beside it")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per command")
    # The surveys file's [slack] timezone sets where trend buckets start; without one it is UTC.
    parser.add_argument("--surveys", type=Path, default=Path("absent-surveys.toml"),
                        help="a surveys.toml whose [slack] settings /nps uses")
    arguments = parser.parse_args()

    name = f"nps_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(arguments.postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = arguments.postgres_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        _load_postgres(url)
        with tempfile.TemporaryDirectory() as folder:
            duck = _load_duckdb(url, Path(folder))
            asyncio.run(_measure(url, duck, arguments.repeat, arguments.surveys))
    finally:
        with psycopg.connect(arguments.postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
