"""Process settings from the environment: ``NPS_*`` plus the conventional ``DATABASE_URL``
and ``REDIS_URL``. Secrets are ``SecretStr`` so they never print by accident."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.database import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NPS_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "NPS_DATABASE_URL"),
        description="SQLAlchemy URL; a SQLite file under ./var by default.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "NPS_REDIS_URL"),
        description="Redis for conversation state and dedupe; process memory when unset.",
    )
    redis_prefix: str = Field(default="nps:", description="Prefix of every Redis key.")
    surveys_file: Path = Field(
        default=Path("surveys.toml"),
        description="Survey definitions; the built-in demo survey is used if the file is absent.",
    )
    # Telegram Bot API (python-telegram-bot). The webhook secret comes back in the
    # X-Telegram-Bot-Api-Secret-Token header of every update.
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"

    # Twilio (WhatsApp and SMS). ``twilio_base_url`` replaces https://api.twilio.com for tests.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = Field(default=None, description="e.g. whatsapp:+14155550100")
    twilio_sms_from: str | None = Field(default=None, description="e.g. +14155550100")
    twilio_base_url: str | None = None
    twilio_opening_template_sid: str | None = Field(
        default=None, description="Approved WhatsApp template (ContentSid) for messages sent "
        "outside the 24-hour window.")
    twilio_score_template_sid: str | None = Field(
        default=None, description="WhatsApp quick-reply template (ContentSid) for the score.")

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_base_url: str = "https://slack.com/api/"
    public_base_url: str = Field(
        default="http://localhost:8080",
        description="The URL platforms use to reach this server, for webhook signatures.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, validation_alias=AliasChoices("PORT", "NPS_PORT"))
    worker_interval_seconds: float = Field(default=30.0, gt=0)
    log_level: str = "INFO"
