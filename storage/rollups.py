"""Daily rollups of responses and invitations on PostgreSQL, kept by triggers.

``response_daily`` and ``invitation_daily`` hold counts per UTC day and segment. A report
reads the whole UTC days of its period from them and only the partial days at the period's
ends from the base rows, so a trend whose buckets are calendar weeks, months or quarters
reads rollup rows for every bucket edge that falls on a UTC midnight.

Triggers keep the rollups equal to a count of the base rows whatever code inserts, updates
or deletes them. Missing segment values are stored as ``''``, because a primary key cannot
contain NULL. SQLite has the tables (so the schema matches the models) but no triggers, and
reports there read the base tables.
"""

from __future__ import annotations

RESPONSE_KEYS = ("survey_id", "scale", "region", "country", "language", "customer_type",
                 "buyer_type", "security_maturity", "channel", "touchpoint")
# One column per category, so a day and segment take one row instead of three.
RESPONSE_COUNTS = ("n", "promoters", "passives", "detractors")
_CATEGORIES = {"promoters": "promoter", "passives": "passive", "detractors": "detractor"}
INVITATION_KEYS = ("survey_id", "touchpoint", "status")
# The invitation's respondent's segment. Response rates on base rows join the respondent's
# current row, so a trigger on ``respondent`` moves the counts when the segment changes.
RESPONDENT_KEYS = ("region", "country", "locale", "customer_type", "buyer_type",
                   "security_maturity", "channel")
_INVITATION_COLUMNS = (*INVITATION_KEYS, *RESPONDENT_KEYS)


def _day(column: str) -> str:
    return f"date_trunc('day', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def _names(columns: tuple[str, ...]) -> str:
    return ", ".join(columns)


def _positions(count: int) -> str:
    return ", ".join(str(position) for position in range(1, count + 1))


def _values(row: str, keys: tuple[str, ...]) -> str:
    return ", ".join(f"coalesce({row}.{key}, '')" for key in keys)


def _add(table: str, keys: tuple[str, ...], counts: tuple[str, ...], rows: str) -> str:
    """Build an INSERT of ``rows`` that adds their counts to the rows already there."""
    added = ", ".join(f"{count} = d.{count} + excluded.{count}" for count in counts)
    return (f"INSERT INTO {table} AS d (day, {_names(keys)}, {_names(counts)}) {rows} "
            f"ON CONFLICT (day, {_names(keys)}) DO UPDATE SET {added}")


def _response_delta(row: str, sign: str) -> str:
    categories = ", ".join(f"{sign}({row}.category = '{category}')::int"
                           for category in _CATEGORIES.values())
    return (f"VALUES ({_day(f'{row}.created_at')}, {_values(row, RESPONSE_KEYS)}, "
            f"{sign}1, {categories})")


_RESPONSE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION response_daily_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_add("response_daily", RESPONSE_KEYS, RESPONSE_COUNTS, _response_delta("OLD", "-"))};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_add("response_daily", RESPONSE_KEYS, RESPONSE_COUNTS, _response_delta("NEW", ""))};
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def _invitation_delta(row: str, sign: str) -> str:
    return (f"VALUES ({_day(f'{row}.due_at')}, {_values(row, INVITATION_KEYS)}, "
            f"{_values('person', RESPONDENT_KEYS)}, {sign}1)")


# The respondent's current segment is read for OLD as well as NEW: the trigger on
# ``respondent`` below has moved every earlier count of this invitation to that segment.
_INVITATION_FUNCTION = f"""
CREATE OR REPLACE FUNCTION invitation_daily_count() RETURNS trigger AS $$
DECLARE
    person respondent%ROWTYPE;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT * INTO person FROM respondent WHERE id = OLD.respondent_id;
        {_add("invitation_daily", _INVITATION_COLUMNS, ("n",), _invitation_delta("OLD", "-"))};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT * INTO person FROM respondent WHERE id = NEW.respondent_id;
        {_add("invitation_daily", _INVITATION_COLUMNS, ("n",), _invitation_delta("NEW", ""))};
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def _respondent_invitations(person: str, sign: str) -> str:
    return (f"SELECT {_day('due_at')}, {_values('invitation', INVITATION_KEYS)}, "
            f"{_values(person, RESPONDENT_KEYS)}, {sign}count(*) FROM invitation "
            f"WHERE respondent_id = {person}.id GROUP BY {_positions(1 + len(INVITATION_KEYS))}")


_RESPONDENT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION invitation_daily_move() RETURNS trigger AS $$
BEGIN
    {_add("invitation_daily", _INVITATION_COLUMNS, ("n",), _respondent_invitations("OLD", "-"))};
    {_add("invitation_daily", _INVITATION_COLUMNS, ("n",), _respondent_invitations("NEW", ""))};
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
    "CREATE TRIGGER response_daily_count AFTER INSERT OR DELETE OR UPDATE OF created_at, "
    f"category, {_names(RESPONSE_KEYS)} ON response FOR EACH ROW EXECUTE FUNCTION "
    "response_daily_count()",
    _INVITATION_FUNCTION,
    "CREATE TRIGGER invitation_daily_count AFTER INSERT OR DELETE OR UPDATE OF due_at, "
    "respondent_id, survey_id, touchpoint, status ON invitation FOR EACH ROW EXECUTE "
    "FUNCTION invitation_daily_count()",
    _RESPONDENT_FUNCTION,
    f"CREATE TRIGGER invitation_daily_move AFTER UPDATE OF {_names(RESPONDENT_KEYS)} "
    f"ON respondent FOR EACH ROW WHEN ({_SEGMENT_CHANGED}) EXECUTE FUNCTION "
    "invitation_daily_move()",
)

UNINSTALL = (
    "DROP TRIGGER IF EXISTS invitation_daily_move ON respondent",
    "DROP FUNCTION IF EXISTS invitation_daily_move()",
    "DROP TRIGGER IF EXISTS invitation_daily_count ON invitation",
    "DROP FUNCTION IF EXISTS invitation_daily_count()",
    "DROP TRIGGER IF EXISTS response_daily_count ON response",
    "DROP FUNCTION IF EXISTS response_daily_count()",
)

# Recount everything from the base tables, for the migration and after a bulk load that
# ran with the triggers disabled.
_CATEGORY_COUNTS = ", ".join(f"count(*) FILTER (WHERE category = '{category}')"
                             for category in _CATEGORIES.values())
REBUILD = (
    "DELETE FROM response_daily",
    f"INSERT INTO response_daily (day, {_names(RESPONSE_KEYS)}, {_names(RESPONSE_COUNTS)}) "
    f"SELECT {_day('created_at')}, {_values('response', RESPONSE_KEYS)}, count(*), "
    f"{_CATEGORY_COUNTS} FROM response GROUP BY {_positions(1 + len(RESPONSE_KEYS))}",
    "DELETE FROM invitation_daily",
    f"INSERT INTO invitation_daily (day, {_names(_INVITATION_COLUMNS)}, n) "
    f"SELECT {_day('invitation.due_at')}, {_values('invitation', INVITATION_KEYS)}, "
    f"{_values('person', RESPONDENT_KEYS)}, count(*) FROM invitation "
    "JOIN respondent AS person ON person.id = invitation.respondent_id "
    f"GROUP BY {_positions(1 + len(_INVITATION_COLUMNS))}",
)
