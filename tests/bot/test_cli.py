"""The nps-bot command line, run in-process with typer's test runner on the test backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import Settings

PROMOTER_TRANSCRIPT = [
    "bot> Hi! Acme Security would like your feedback: a few quick questions, about a minute. "
    "We keep your answers with your account details to improve our service, as our privacy "
    "notice explains: https://example.com/privacy. Is that OK with you?",
    "     [Yes] [No]",
    "you> yes",
    "bot> How likely are you to recommend Acme Security to a friend or colleague? Reply with a "
    "number from 0 (not at all likely) to 10 (extremely likely).",
    "     [0] [1] [2] [3] [4] [5] [6] [7] [8] [9] [10]",
    "you> 9",
    "bot> Great to hear! What do you value most about Acme Security?",
    "     [Skip]",
    "you> great support",
    "bot> Thank you! It means a lot to the team that you'd recommend us.",
]


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose environment points the CLI at the test database and Redis."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if settings.redis_url:
        monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("NPS_REDIS_PREFIX", settings.redis_prefix)
    # No surveys.toml in the working folder, so the built-in demo survey runs.
    monkeypatch.delenv("NPS_SURVEYS_FILE", raising=False)
    monkeypatch.chdir(settings.surveys_file.parent)
    monkeypatch.delenv("NPS_SLACK_BOT_TOKEN", raising=False)
    return CliRunner()


def _script(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "replies.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_shell_script_prints_transcript(cli: CliRunner, tmp_path: Path) -> None:
    script = _script(tmp_path, "yes", "9", "great support")
    result = cli.invoke(app, ["shell", "--script", str(script)])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == PROMOTER_TRANSCRIPT


def test_shell_script_matches_interactive(cli: CliRunner, tmp_path: Path) -> None:
    script = _script(tmp_path, "yes", "9", "great support")
    scripted = cli.invoke(app, ["shell", "--script", str(script)])
    typed = cli.invoke(app, ["shell"], input="yes\n9\ngreat support\n")

    def bot_lines(output: str) -> list[str]:
        return [line.split("you> ")[-1] for line in output.splitlines()
                if "bot> " in line or line.startswith("     [")]

    assert typed.exit_code == 0, typed.output
    assert bot_lines(typed.stdout) == bot_lines(scripted.stdout)
    assert len(bot_lines(typed.stdout)) == 7


def test_shell_spanish_detractor_shows_alert(cli: CliRunner, tmp_path: Path) -> None:
    script = _script(tmp_path, "sí", "３", "la app se cae")
    result = cli.invoke(
        app, ["shell", "--locale", "es", "--country", "MX", "--script", str(script)]
    )

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("bot> ¡Hola! Acme Security quiere conocer su opinión")
    assert "Slack alert preview for #cx-alerts (set NPS_SLACK_BOT_TOKEN to post it):" in lines
    preview = json.loads("\n".join(lines[lines.index(
        "Slack alert preview for #cx-alerts (set NPS_SLACK_BOT_TOKEN to post it):") + 1:]))
    assert preview["blocks"][0]["text"]["text"] == "Detractor: 3/10"
    assert preview["blocks"][2]["text"]["text"] == ">la app se cae"


def test_shell_rejects_bad_attribute(cli: CliRunner) -> None:
    result = cli.invoke(app, ["shell", "--attr", "customer_type"])

    assert result.exit_code == 2
    assert "--attr 'customer_type' is not key=value" in result.stderr


def test_shell_unknown_respondent(cli: CliRunner) -> None:
    result = cli.invoke(app, ["shell", "--respondent", "nobody"])

    assert result.exit_code == 2
    assert "no console respondent 'nobody'" in result.stderr


def test_report_json_shape(cli: CliRunner, tmp_path: Path) -> None:
    cli.invoke(app, ["shell", "--country", "BR", "--script",
                     str(_script(tmp_path, "yes", "10", "fast"))])
    cli.invoke(app, ["shell", "--country", "JP", "--script",
                     str(_script(tmp_path, "yes", "2", "slow"))])
    result = cli.invoke(app, ["report", "--by", "region", "--format", "json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # p = d = 0.5: variance 1, margin 1.95996 * sqrt(1 / 2) = 138.59 points.
    assert data["overall"] == {"nps": 0.0, "n": 2, "promoters": 1, "passives": 0,
                               "detractors": 1, "margin_of_error": 138.59}
    keys = [segment["key"] for segment in data["segments"]]
    assert keys == [{"region": "APAC"}, {"region": "LATAM"}]
    assert data["segments"][0]["nps"] == -100.0


def test_report_csv_has_overall_row(cli: CliRunner) -> None:
    result = cli.invoke(app, ["report", "--by", "country", "--format", "csv"])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "country,nps,n,promoters,passives,detractors,margin_of_error",
        "(all),,0,0,0,0,",
    ]


def test_shell_rejects_bad_country(cli: CliRunner) -> None:
    result = cli.invoke(app, ["shell", "--country", "Brazil"])

    assert result.exit_code == 2
    assert "--country 'Brazil' is not a two-letter ISO 3166 code" in result.stderr


def test_shell_rejects_unknown_locale(cli: CliRunner) -> None:
    result = cli.invoke(app, ["shell", "--locale", "xx"])

    assert result.exit_code == 2
    assert "--locale 'xx' is not a supported language" in result.stderr


def test_shell_script_leftover_replies_noted(cli: CliRunner, tmp_path: Path) -> None:
    script = _script(tmp_path, "no", "9", "hello")
    result = cli.invoke(app, ["shell", "--script", str(script)])

    assert result.exit_code == 0, result.output
    assert "(the conversation ended; 2 more replies not sent)" in result.stderr


def test_opted_out_respondent_not_surveyed(cli: CliRunner, tmp_path: Path) -> None:
    first = cli.invoke(app, ["shell", "--script", str(_script(tmp_path, "STOP"))])
    respondent_id = first.stderr.strip().removeprefix("(respondent id: ").removesuffix(")")
    again = cli.invoke(app, ["shell", "--respondent", respondent_id])

    assert first.stdout.splitlines()[-1].startswith("bot> You're unsubscribed")
    assert again.exit_code == 2
    assert f"respondent {respondent_id} opted out on" in again.stderr


def test_fatigue_cap_stops_third_survey(cli: CliRunner, tmp_path: Path) -> None:
    script = str(_script(tmp_path, "yes", "9", "skip"))
    first = cli.invoke(app, ["shell", "--script", script])
    respondent_id = first.stderr.strip().removeprefix("(respondent id: ").removesuffix(")")
    second = cli.invoke(app, ["shell", "--respondent", respondent_id, "--script", script])
    third = cli.invoke(app, ["shell", "--respondent", respondent_id, "--script", script])

    assert second.exit_code == 0, second.output
    assert third.exit_code == 2
    assert "already surveyed 2 times in the last 91 days; the cap is 2" in third.stderr


def test_bad_environment_setting_is_one_line(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", "abc")
    result = cli.invoke(app, ["report"])

    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid setting in the environment: PORT: ")


def test_missing_surveys_file_is_reported(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NPS_SURVEYS_FILE", str(tmp_path / "survey.toml"))
    result = cli.invoke(app, ["report"])

    assert result.exit_code == 2
    assert "is not a file; fix the path or unset it" in result.stderr


def test_report_rejects_bad_date(cli: CliRunner) -> None:
    result = cli.invoke(app, ["report", "--since", "last week"])

    assert result.exit_code == 2
    assert "--since 'last week' is not a date; write it as YYYY-MM-DD" in result.stderr


def test_migrate_unreachable_database(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/none")
    result = cli.invoke(app, ["migrate"])

    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: cannot migrate the database at postgresql://nobody:***@127.0.0.1:1/none"
    )


def test_invalid_redis_url(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "localhost:6379")
    result = cli.invoke(app, ["report"])

    assert result.exit_code == 2
    assert "REDIS_URL 'localhost:6379' is not a Redis URL" in result.stderr
