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
from bot.cli_support import (
    STARTUP_ERRORS,
    configure_logging,
    fail,
    load_settings,
    migrate_embedded,
    parse_attributes,
)
from bot.invitations import InvitationError, InvitationRequest, create_invitation, dispatch
from bot.runtime import open_runtime
from bot.settings import Settings
from channels.base import ChannelError
from channels.telegram import TelegramChannel
from storage.models import Invitation

logger = logging.getLogger(__name__)

telegram_app = typer.Typer(help="Set up the Telegram bot.", no_args_is_help=True,
                           add_completion=False, pretty_exceptions_enable=False)

# Bot API: the secret token is 1-256 characters of A-Z, a-z, 0-9, "_" and "-".
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class InviteChannel(StrEnum):
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    SMS = "sms"




def _setup(settings: Settings) -> None:
    configure_logging(settings.log_level)
    migrate_embedded(settings)


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
    settings = load_settings()
    request = InvitationRequest(channel=channel.value, address=address, survey_id=survey,
                                locale=locale, attributes=parse_attributes(attr or []))
    try:
        _setup(settings)
        invitation = asyncio.run(_invite(settings, request))
    except (*STARTUP_ERRORS, InvitationError) as error:
        raise fail(str(error)) from error
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
    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr)
    if settings.telegram_bot_token is None:
        raise fail("NPS_TELEGRAM_BOT_TOKEN is not set")
    secret = settings.telegram_webhook_secret
    if secret is None or not _SECRET_TOKEN.fullmatch(secret.get_secret_value()):
        raise fail("NPS_TELEGRAM_WEBHOOK_SECRET must be set to 1-256 characters "
                    "of A-Z, a-z, 0-9, '_' and '-'")
    if not settings.public_base_url.startswith("https://"):
        raise fail(f"Telegram sends webhooks only to HTTPS URLs; NPS_PUBLIC_BASE_URL is "
                    f"{settings.public_base_url!r}. Use `nps-bot serve --telegram-polling` "
                    "for local use")
    url = public_url(settings, TELEGRAM_WEBHOOK_PATH)
    try:
        registered = asyncio.run(_set_webhook(settings, url, secret.get_secret_value()))
    except ChannelError as error:
        raise fail(f"setWebhook failed: {error}") from error
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
