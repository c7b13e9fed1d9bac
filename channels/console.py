"""The terminal as a channel: ``nps-bot shell`` talks to the bot through it."""

from __future__ import annotations

import itertools
from typing import TextIO

from channels.base import Capabilities, Delivery, OutboundMessage

BOT_PREFIX = "bot> "


class ConsoleChannel:
    """Prints each outbound message, with its buttons as ``[label]`` hints, to a text stream."""

    name = "console"
    capabilities = Capabilities(buttons=True, max_buttons=11)

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._ids = itertools.count(1)

    async def send(self, message: OutboundMessage) -> Delivery:
        self._stream.write(f"{BOT_PREFIX}{message.text}\n")
        if message.buttons:
            labels = " ".join(f"[{button.label}]" for button in message.buttons)
            self._stream.write(f"{' ' * len(BOT_PREFIX)}{labels}\n")
        self._stream.flush()
        return Delivery(provider_message_id=f"console-{next(self._ids)}")
