"""``nps-bot invite`` and ``nps-bot telegram ...``: the command line of the channels."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from enum import StrEnum
from typing import Annotated

import typer

from bot.channel_registry import TELEGRAM_WEBHOOK_PATH, public_url
from bot.invitations import InvitationError, InvitationRequest, create_invitation, dispatch
from bot.runtime import open_runtime
from bot.settings import Settings
from bot.surveys import SurveysFileError
from channels.base import ChannelError
from channels.telegram import TelegramChannel
from storage.database import DatabaseUnavailable, async_url
from storage.kv import RedisUnavailable
from storage.migrate import upgrade
from storage.models import Invitation

logger = logging.getLogger(__name__)

telegram_app = typer.Typer(help="Set up the Telegram bot.", no_args_is_help=True,
                           add_completion=False, pretty_exceptions_enable=False)

# Bot API: the secret token is 1-256 characters of A-Z, a-z, 0-9, "_" and "-".
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_STARTUP_ERRORS = (DatabaseUnavailable, RedisUnavailable, SurveysFileError)


class InviteChannel(StrEnum):
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    SMS = "sms"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _setup(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SQLite is migrated on first use; PostgreSQL by ``nps-bot migrate``, as for serve.
    if async_url(settings.database_url).get_backend_name() == "sqlite":
        upgrade(settings.database_url)


def _attributes(pairs: list[str]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise _fail(f"--attr {pair!r} is not key=value, for example --attr customer_type=smb")
        attributes[key.strip()] = value.strip()
    return attributes


def invite(
    survey: Annotated[str | None, typer.Option(
        help="Survey id from surveys.toml; the first survey by default.")] = None,
    channel: Annotated[InviteChannel, typer.Option(
        help="Where to send the invitation.")] = InviteChannel.WHATSAPP,
    address: Annotated[str | None, typer.Option(
        help="Telegram chat id, or phone number in international format (+5511999990000).")
    ] = None,
    locale: Annotated[str | None, typer.Option(
        help="The person's language, e.g. pt-BR; otherwise their phone's country decides.")
    ] = None,
    attr: Annotated[list[str] | None, typer.Option(
        help="Segment attribute key=value; repeatable: customer_type, buyer_type, "
             "security_maturity, region, country, name, or any other key.")] = None,
) -> None:
    """Create an invitation and send its first message now, as scheduled dispatch would."""
    settings = Settings()
    request = InvitationRequest(channel=channel.value, address=address, survey_id=survey,
                                locale=locale, attributes=_attributes(attr or []))
    try:
        _setup(settings)
        invitation = asyncio.run(_invite(settings, request))
    except (*_STARTUP_ERRORS, InvitationError) as error:
        raise _fail(str(error)) from error
    typer.echo(f"invitation {invitation.id}: {invitation.status}")
    if invitation.status in ("failed", "suppressed", "scheduled"):
        detail = invitation.last_error or invitation.suppressed_reason
        if detail:
            typer.echo(f"  {detail}", err=True)
        raise typer.Exit(code=1)


async def _invite(settings: Settings, request: InvitationRequest) -> Invitation:
    runtime = await open_runtime(settings)
    try:
        created = await create_invitation(runtime, request)
        return await dispatch(runtime, created.id)
    finally:
        await runtime.close()


@telegram_app.command("set-webhook")
def set_webhook() -> None:
    """Register NPS_PUBLIC_BASE_URL/webhooks/telegram, with the secret token, as the webhook."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr)
    if settings.telegram_bot_token is None:
        raise _fail("NPS_TELEGRAM_BOT_TOKEN is not set")
    secret = settings.telegram_webhook_secret
    if secret is None or not _SECRET_TOKEN.fullmatch(secret.get_secret_value()):
        raise _fail("NPS_TELEGRAM_WEBHOOK_SECRET must be set to 1-256 characters "
                    "of A-Z, a-z, 0-9, '_' and '-'")
    if not settings.public_base_url.startswith("https://"):
        raise _fail(f"Telegram sends webhooks only to HTTPS URLs; NPS_PUBLIC_BASE_URL is "
                    f"{settings.public_base_url!r}. Use `nps-bot serve --telegram-polling` "
                    "for local use")
    url = public_url(settings, TELEGRAM_WEBHOOK_PATH)
    try:
        registered = asyncio.run(_set_webhook(settings, url, secret.get_secret_value()))
    except ChannelError as error:
        raise _fail(f"setWebhook failed: {error}") from error
    typer.echo(f"webhook set: {registered}")


async def _set_webhook(settings: Settings, url: str, secret: str) -> str:
    assert settings.telegram_bot_token is not None
    channel = TelegramChannel(settings.telegram_bot_token.get_secret_value(),
                              base_url=settings.telegram_base_url, webhook_secret=secret)
    try:
        await channel.set_webhook(url, secret=secret)
        return await channel.webhook_url()
    finally:
        await channel.aclose()
