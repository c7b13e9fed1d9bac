"""Daily and monthly rollups of responses and invitations on PostgreSQL, kept by triggers.

``response_daily``, ``response_monthly``, ``invitation_daily`` and ``invitation_monthly`` hold
counts per UTC day or UTC calendar month and segment. A report moves each end of its period
to the nearest UTC midnight, reads the whole UTC months in between from the monthly tables
and the other days from the daily ones, and adds or subtracts the rows of the hours between
each end and its midnight from the base tables (``bot.analytics.split_window``). In the
data of ``bench/nps_query.py`` most segments have answers every day, so a month of
``response_monthly`` takes about as many rows as a day of ``response_daily`` (490 and 460):
the monthly tables keep long periods cheap, and the daily ones serve weeks and month edges.

Triggers keep every rollup equal to a count of the base rows whatever code inserts, updates
or deletes them. Missing segment values are stored as ``''``, because a primary key cannot
contain NULL. SQLite has the tables (so the schema matches the models) but no triggers, and
reports there read the base tables.
"""

from __future__ import annotations

RESPONSE_KEYS = ("survey_id", "scale", "region", "country", "language", "customer_type",
                 "buyer_type", "security_maturity", "channel", "touchpoint")
# One column per category, so a period and segment take one row instead of three.
RESPONSE_COUNTS = ("n", "promoters", "passives", "detractors")
_CATEGORIES = {"promoters": "promoter", "passives": "passive", "detractors": "detractor"}
INVITATION_KEYS = ("survey_id", "touchpoint", "status")
# The invitation's respondent's segment. Response rates on base rows join the respondent's
# current row, so a trigger on ``respondent`` moves the counts when the segment changes.
RESPONDENT_KEYS = ("region", "country", "locale", "customer_type", "buyer_type",
                   "security_maturity", "channel")
_INVITATION_COLUMNS = (*INVITATION_KEYS, *RESPONDENT_KEYS)


# Each rollup table by the date_trunc field that starts its periods.
RESPONSE_TABLES = {"day": "response_daily", "month": "response_monthly"}
INVITATION_TABLES = {"day": "invitation_daily", "month": "invitation_monthly"}


def _start(grain: str, column: str) -> str:
    return f"date_trunc('{grain}', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def _names(columns: tuple[str, ...]) -> str:
    return ", ".join(columns)


def _positions(count: int) -> str:
    return ", ".join(str(position) for position in range(1, count + 1))


def _values(row: str, keys: tuple[str, ...]) -> str:
    return ", ".join(f"coalesce({row}.{key}, '')" for key in keys)


def _add(table: str, keys: tuple[str, ...], counts: tuple[str, ...], rows: str) -> str:
    """Build an INSERT of ``rows`` that adds their counts to the rows already there."""
    added = ", ".join(f"{count} = r.{count} + excluded.{count}" for count in counts)
    return (f"INSERT INTO {table} AS r (period_start, {_names(keys)}, {_names(counts)}) {rows} "
            f"ON CONFLICT (period_start, {_names(keys)}) DO UPDATE SET {added}")


def _response_delta(row: str, sign: str) -> str:
    """Build the statements that add ``sign``1 for response ``row`` to every rollup."""
    categories = ", ".join(f"{sign}({row}.category = '{category}')::int"
                           for category in _CATEGORIES.values())
    return ";\n        ".join(
        _add(table, RESPONSE_KEYS, RESPONSE_COUNTS,
             f"VALUES ({_start(grain, f'{row}.created_at')}, {_values(row, RESPONSE_KEYS)}, "
             f"{sign}1, {categories})")
        for grain, table in RESPONSE_TABLES.items())


_RESPONSE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION response_rollup_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_response_delta("OLD", "-")};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_response_delta("NEW", "")};
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def _invitation_delta(row: str, sign: str) -> str:
    """Build the statements that add ``sign``1 for invitation ``row`` of respondent
    ``person`` to every rollup."""
    return ";\n        ".join(
        _add(table, _INVITATION_COLUMNS, ("n",),
             f"VALUES ({_start(grain, f'{row}.due_at')}, {_values(row, INVITATION_KEYS)}, "
             f"{_values('person', RESPONDENT_KEYS)}, {sign}1)")
        for grain, table in INVITATION_TABLES.items())


# The respondent's current segment is read for OLD as well as NEW: the trigger on
# ``respondent`` below has moved every earlier count of this invitation to that segment.
_INVITATION_FUNCTION = f"""
CREATE OR REPLACE FUNCTION invitation_rollup_count() RETURNS trigger AS $$
DECLARE
    person respondent%ROWTYPE;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT * INTO person FROM respondent WHERE id = OLD.respondent_id;
        {_invitation_delta("OLD", "-")};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT * INTO person FROM respondent WHERE id = NEW.respondent_id;
        {_invitation_delta("NEW", "")};
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def _respondent_invitations(person: str, sign: str) -> str:
    """Build the statements that add ``sign`` the count of every invitation of respondent
    ``person``, under that row's segment, to every rollup."""
    return ";\n    ".join(
        _add(table, _INVITATION_COLUMNS, ("n",),
             f"SELECT {_start(grain, 'due_at')}, {_values('invitation', INVITATION_KEYS)}, "
             f"{_values(person, RESPONDENT_KEYS)}, {sign}count(*) FROM invitation "
             f"WHERE respondent_id = {person}.id "
             f"GROUP BY {_positions(1 + len(INVITATION_KEYS))}")
        for grain, table in INVITATION_TABLES.items())


_RESPONDENT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION invitation_rollup_move() RETURNS trigger AS $$
BEGIN
    {_respondent_invitations("OLD", "-")};
    {_respondent_invitations("NEW", "")};
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""

_SEGMENT_CHANGED = (f"({_names(tuple(f'OLD.{key}' for key in RESPONDENT_KEYS))}) IS DISTINCT "
                    f"FROM ({_names(tuple(f'NEW.{key}' for key in RESPONDENT_KEYS))})")

# Only changes to counted columns fire the triggers; a comment or a retry count does not.
# NOTE: two transactions that run at once, one changing a respondent's segment and one
# writing an invitation of that respondent, do not see each other's rows, so that
# invitation stays counted under the old segment until REBUILD runs. Locking the respondent
# row from the invitation trigger would close this, but delivery webhooks update the
# invitation and then the respondent, so that lock could deadlock with them.
INSTALL = (
    _RESPONSE_FUNCTION,
    "CREATE TRIGGER response_rollup_count AFTER INSERT OR DELETE OR UPDATE OF created_at, "
    f"category, {_names(RESPONSE_KEYS)} ON response FOR EACH ROW EXECUTE FUNCTION "
    "response_rollup_count()",
    _INVITATION_FUNCTION,
    "CREATE TRIGGER invitation_rollup_count AFTER INSERT OR DELETE OR UPDATE OF due_at, "
    "respondent_id, survey_id, touchpoint, status ON invitation FOR EACH ROW EXECUTE "
    "FUNCTION invitation_rollup_count()",
    _RESPONDENT_FUNCTION,
    f"CREATE TRIGGER invitation_rollup_move AFTER UPDATE OF {_names(RESPONDENT_KEYS)} "
    f"ON respondent FOR EACH ROW WHEN ({_SEGMENT_CHANGED}) EXECUTE FUNCTION "
    "invitation_rollup_move()",
)

UNINSTALL = (
    "DROP TRIGGER IF EXISTS invitation_rollup_move ON respondent",
    "DROP FUNCTION IF EXISTS invitation_rollup_move()",
    "DROP TRIGGER IF EXISTS invitation_rollup_count ON invitation",
    "DROP FUNCTION IF EXISTS invitation_rollup_count()",
    "DROP TRIGGER IF EXISTS response_rollup_count ON response",
    "DROP FUNCTION IF EXISTS response_rollup_count()",
)

_CATEGORY_COUNTS = ", ".join(f"count(*) FILTER (WHERE category = '{category}')"
                             for category in _CATEGORIES.values())


def _rebuild(grain: str) -> tuple[str, ...]:
    response, invitation = RESPONSE_TABLES[grain], INVITATION_TABLES[grain]
    return (
        f"DELETE FROM {response}",
        f"INSERT INTO {response} (period_start, {_names(RESPONSE_KEYS)}, "
        f"{_names(RESPONSE_COUNTS)}) SELECT {_start(grain, 'created_at')}, "
        f"{_values('response', RESPONSE_KEYS)}, count(*), {_CATEGORY_COUNTS} FROM response "
        f"GROUP BY {_positions(1 + len(RESPONSE_KEYS))}",
        f"DELETE FROM {invitation}",
        f"INSERT INTO {invitation} (period_start, {_names(_INVITATION_COLUMNS)}, n) "
        f"SELECT {_start(grain, 'invitation.due_at')}, {_values('invitation', INVITATION_KEYS)}, "
        f"{_values('person', RESPONDENT_KEYS)}, count(*) FROM invitation "
        "JOIN respondent AS person ON person.id = invitation.respondent_id "
        f"GROUP BY {_positions(1 + len(_INVITATION_COLUMNS))}",
    )


# Recount everything from the base tables, for the migration and after a bulk load that
# ran with the triggers disabled.
REBUILD = tuple(statement for grain in RESPONSE_TABLES for statement in _rebuild(grain))
