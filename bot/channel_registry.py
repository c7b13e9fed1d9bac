"""Building the messaging channels that the settings configure, and closing them."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.settings import Settings
from channels.base import Channel
from channels.telegram import TelegramChannel
from channels.whatsapp import SMS, WHATSAPP, TwilioAccount, TwilioChannel

logger = logging.getLogger(__name__)

TELEGRAM_WEBHOOK_PATH = "/webhooks/telegram"
TWILIO_MESSAGES_PATH = "/webhooks/twilio/messages"
TWILIO_STATUS_PATH = "/webhooks/twilio/status"

# What to set when an invitation or a webhook names a channel that is not configured.
SETUP_HINTS = {
    "telegram": "set NPS_TELEGRAM_BOT_TOKEN",
    WHATSAPP: "set NPS_TWILIO_ACCOUNT_SID, NPS_TWILIO_AUTH_TOKEN and NPS_TWILIO_WHATSAPP_FROM",
    SMS: "set NPS_TWILIO_ACCOUNT_SID, NPS_TWILIO_AUTH_TOKEN and NPS_TWILIO_SMS_FROM",
}


def public_url(settings: Settings, path: str) -> str:
    """The URL platforms call for ``path``, built from NPS_PUBLIC_BASE_URL."""
    return settings.public_base_url.rstrip("/") + path


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Create every channel whose credentials are set; the others are left out."""
    channels: dict[str, Channel] = {}
    if settings.telegram_bot_token is not None:
        secret = settings.telegram_webhook_secret
        channels["telegram"] = TelegramChannel(
            settings.telegram_bot_token.get_secret_value(),
            base_url=settings.telegram_base_url,
            webhook_secret=secret.get_secret_value() if secret else None,
        )
    account = twilio_account(settings)
    if account is not None and settings.twilio_whatsapp_from:
        channels[WHATSAPP] = TwilioChannel(
            account, name=WHATSAPP, sender=settings.twilio_whatsapp_from,
            window_template=settings.twilio_opening_template_sid,
            score_template=settings.twilio_score_template_sid,
        )
    if account is not None and settings.twilio_sms_from:
        channels[SMS] = TwilioChannel(account, name=SMS, sender=settings.twilio_sms_from)
    if channels:
        logger.info("channels configured: %s", ", ".join(sorted(channels)))
    return channels


def twilio_account(settings: Settings) -> TwilioAccount | None:
    """The Twilio account of the settings, or None when its SID or auth token is missing."""
    if not settings.twilio_account_sid or settings.twilio_auth_token is None:
        return None
    return TwilioAccount(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        base_url=settings.twilio_base_url,
        status_callback_url=public_url(settings, TWILIO_STATUS_PATH),
    )


async def close_channels(channels: Mapping[str, Channel]) -> None:
    """Close the HTTP clients of channels that hold one; a channel is closed once."""
    closed: set[int] = set()
    for channel in channels.values():
        closer = getattr(channel, "aclose", None)
        if closer is None or id(channel) in closed:
            continue
        closed.add(id(channel))
        await closer()
