"""The Twilio adapter (WhatsApp and SMS) against the fake REST API, through twilio-python."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from channels.base import (
    Button,
    ChannelError,
    DeliveryState,
    InvalidWebhook,
    OutboundMessage,
    OutsideWindow,
    RateLimited,
    Transient,
    Unreachable,
)
from channels.whatsapp import (
    SMS,
    WHATSAPP,
    TwilioAccount,
    TwilioChannel,
    error_for_code,
    parse_inbound,
    parse_status,
)
from tests.channels.conftest import fixture_form, fixture_json, fixture_text
from tests.fakes.twilio import (
    OUTSIDE_WINDOW,
    RATE_LIMITED,
    REST_ERROR,
    SERVER_ERROR,
    SMS_FROM,
    WHATSAPP_FROM,
    FakeTwilio,
)

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
CALLBACK_URL = "https://nps.example.com/webhooks/twilio/status"
CUSTOMER = "whatsapp:+5511999990000"


@pytest.fixture
async def account(fake_twilio: FakeTwilio) -> AsyncIterator[TwilioAccount]:
    twilio = TwilioAccount(fake_twilio.account_sid, fake_twilio.auth_token,
                           base_url=fake_twilio.base_url, status_callback_url=CALLBACK_URL)
    try:
        yield twilio
    finally:
        await twilio.aclose()


@pytest.fixture
def whatsapp(account: TwilioAccount) -> TwilioChannel:
    return TwilioChannel(account, name=WHATSAPP, sender=WHATSAPP_FROM)


def test_signature_vector() -> None:
    """The documented example: token 12345 over a URL with a query string and five fields."""
    account = TwilioAccount("AC0", "12345")
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}

    assert "RSOYDt4T1cUTdK1PDd93/VVr8B8=" in fixture_text("signature_vectors.md")
    assert account.verify(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") is True
    changed = {**params, "Digits": "1235"}
    assert account.verify(url, changed, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") is False


def test_signature_with_default_port(fake_twilio: FakeTwilio) -> None:
    account = TwilioAccount(fake_twilio.account_sid, fake_twilio.auth_token)
    form = fixture_form("twilio_whatsapp_inbound.txt")
    signed_with_port = fake_twilio.sign("https://nps.example.com:443/webhooks/twilio/messages",
                                        form)

    assert account.verify("https://nps.example.com/webhooks/twilio/messages", form,
                          signed_with_port) is True


def test_signature_missing_rejected(account: TwilioAccount) -> None:
    form = fixture_form("twilio_whatsapp_inbound.txt")

    assert account.verify(CALLBACK_URL, form, None) is False
    assert account.verify(CALLBACK_URL, form, "") is False


def test_signature_other_url_rejected(fake_twilio: FakeTwilio, account: TwilioAccount) -> None:
    form = fixture_form("twilio_whatsapp_inbound.txt")
    signature = fake_twilio.sign("http://127.0.0.1:8080/webhooks/twilio/messages", form)

    assert account.verify("https://nps.example.com/webhooks/twilio/messages", form,
                          signature) is False


async def test_send_free_form(whatsapp: TwilioChannel, fake_twilio: FakeTwilio) -> None:
    delivery = await whatsapp.send(OutboundMessage(CUSTOMER, "Olá!", (Button("9", "nps:9"),)))

    [created] = fake_twilio.messages
    assert created.to == CUSTOMER
    assert created.from_ == WHATSAPP_FROM
    assert created.body == "Olá!"
    assert created.content_sid is None
    assert created.status_callback == CALLBACK_URL
    assert delivery.provider_message_id == created.sid


async def test_send_template(whatsapp: TwilioChannel, fake_twilio: FakeTwilio) -> None:
    message = OutboundMessage(CUSTOMER, "ignored", template_id="HX123",
                              template_variables={"1": "Acme's survey"})

    await whatsapp.send(message)

    [created] = fake_twilio.messages
    assert created.content_sid == "HX123"
    assert json.loads(created.content_variables or "") == {"1": "Acme's survey"}
    assert created.body is None


async def test_send_sms_strips_prefix(account: TwilioAccount, fake_twilio: FakeTwilio) -> None:
    sms = TwilioChannel(account, name=SMS, sender=SMS_FROM)

    await sms.send(OutboundMessage("sms:+14155550123", "How likely...?"))

    [created] = fake_twilio.messages
    assert created.to == "+14155550123"
    assert created.from_ == SMS_FROM
    assert sms.capabilities.buttons is False
    assert sms.capabilities.window is None


def test_whatsapp_capabilities(account: TwilioAccount) -> None:
    channel = TwilioChannel(account, name=WHATSAPP, sender="+14155550100",
                            window_template="HXw", score_template="HXs")

    assert channel.capabilities.window is not None
    assert channel.capabilities.window.total_seconds() == 24 * 3600
    assert channel.capabilities.window_template == "HXw"
    assert channel.capabilities.score_template == "HXs"
    assert channel.capabilities.buttons is False


async def test_sender_gets_prefix(account: TwilioAccount, fake_twilio: FakeTwilio) -> None:
    channel = TwilioChannel(account, name=WHATSAPP, sender="+14155550100")

    await channel.send(OutboundMessage(CUSTOMER, "hi"))

    assert fake_twilio.messages[0].from_ == "whatsapp:+14155550100"


async def test_rate_limited(whatsapp: TwilioChannel, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(RATE_LIMITED)

    with pytest.raises(RateLimited) as caught:
        await whatsapp.send(OutboundMessage(CUSTOMER, "hi"))

    assert caught.value.retry_after == 1.0
    assert "20429" in str(caught.value)


async def test_server_error_transient(whatsapp: TwilioChannel, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(SERVER_ERROR)

    with pytest.raises(Transient):
        await whatsapp.send(OutboundMessage(CUSTOMER, "hi"))


async def test_window_error_code(whatsapp: TwilioChannel, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(REST_ERROR, code=63016, status=400)

    with pytest.raises(OutsideWindow, match="63016"):
        await whatsapp.send(OutboundMessage(CUSTOMER, "hi"))


async def test_invalid_number_unreachable(whatsapp: TwilioChannel,
                                          fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(REST_ERROR, code=21211, status=400)

    with pytest.raises(Unreachable) as caught:
        await whatsapp.send(OutboundMessage(CUSTOMER, "hi"))

    assert "+55" not in str(caught.value)


async def test_accepted_then_undelivered(whatsapp: TwilioChannel, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(OUTSIDE_WINDOW)

    delivery = await whatsapp.send(OutboundMessage(CUSTOMER, "hi"))

    assert delivery.provider_message_id == fake_twilio.messages[0].sid


async def test_wrong_credentials(fake_twilio: FakeTwilio) -> None:
    account = TwilioAccount(fake_twilio.account_sid, "wrong", base_url=fake_twilio.base_url)
    channel = TwilioChannel(account, name=WHATSAPP, sender=WHATSAPP_FROM)
    try:
        with pytest.raises(ChannelError, match="20003"):
            await channel.send(OutboundMessage(CUSTOMER, "hi"))
    finally:
        await account.aclose()


async def test_refused_connection_transient() -> None:
    async with FakeTwilio() as gone:
        base_url = gone.base_url
    account = TwilioAccount(gone.account_sid, gone.auth_token, base_url=base_url)
    channel = TwilioChannel(account, name=WHATSAPP, sender=WHATSAPP_FROM)
    try:
        with pytest.raises(Transient):
            await channel.send(OutboundMessage(CUSTOMER, "hi"))
    finally:
        await account.aclose()


async def test_address_of_other_channel(whatsapp: TwilioChannel) -> None:
    with pytest.raises(Unreachable, match="whatsapp:"):
        await whatsapp.send(OutboundMessage("123456789", "hi"))


async def test_fake_answers_documented_shape(fake_twilio: FakeTwilio) -> None:
    documented = fixture_json("twilio_message_created.json")
    url = f"{fake_twilio.base_url}/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    credentials = f"{fake_twilio.account_sid}:{fake_twilio.auth_token}".encode()
    auth = f"Basic {base64.b64encode(credentials).decode()}"

    async with aiohttp.ClientSession() as session, session.post(
        url, data={"To": CUSTOMER, "From": WHATSAPP_FROM, "Body": "hi"},
        headers={"Authorization": auth},
    ) as response:
        body = await response.json()

    assert response.status == 201
    assert set(body) == set(documented)
    assert body["status"] == "queued"


def test_parse_inbound_fixture() -> None:
    message = parse_inbound(fixture_form("twilio_whatsapp_inbound.txt"), received_at=NOW)

    assert message.channel == "whatsapp"
    assert message.address == "whatsapp:+5511999990000"
    assert message.provider_message_id == "SM00000000000000000000000000000001"
    assert message.text == "9"
    assert message.payload is None
    assert message.display_name == "Ana Example"
    assert message.received_at == NOW


def test_parse_button_fixture() -> None:
    message = parse_inbound(fixture_form("twilio_whatsapp_button.txt"), received_at=NOW)

    assert message.payload == "nps:9"
    assert message.text == "9"
    assert message.provider_message_id == "SM00000000000000000000000000000002"


def test_parse_sms() -> None:
    form = {"MessageSid": "SM9", "From": "+14155550123", "To": SMS_FROM, "Body": "STOP"}

    message = parse_inbound(form, received_at=NOW)

    assert message.channel == "sms"
    assert message.address == "sms:+14155550123"
    assert message.text == "STOP"


@pytest.mark.parametrize("form", [
    {"From": "whatsapp:+5511999990000", "Body": "9"},
    {"MessageSid": "SM1", "Body": "9"},
    {"MessageSid": "SM1", "From": "messenger:1234", "Body": "9"},
])
def test_parse_inbound_rejects(form: dict[str, str]) -> None:
    with pytest.raises(InvalidWebhook):
        parse_inbound(form, received_at=NOW)


def test_parse_status_fixture() -> None:
    report = parse_status(fixture_form("twilio_status_callback.txt"), received_at=NOW)

    assert report is not None
    assert report.channel == "whatsapp"
    assert report.provider_message_id == "SM00000000000000000000000000000004"
    assert report.status == "undelivered"
    assert report.state is DeliveryState.FAILED
    assert report.error_code == "63016"
    assert isinstance(report.error, OutsideWindow)


@pytest.mark.parametrize(("status", "state"), [
    ("queued", DeliveryState.QUEUED), ("sent", DeliveryState.SENT),
    ("delivered", DeliveryState.DELIVERED), ("read", DeliveryState.READ),
    ("failed", DeliveryState.FAILED),
])
def test_parse_status_states(status: str, state: DeliveryState) -> None:
    form = {"MessageSid": "SM1", "MessageStatus": status, "To": CUSTOMER}

    report = parse_status(form, received_at=NOW)

    assert report is not None
    assert report.state is state


def test_parse_status_of_inbound_ignored() -> None:
    assert parse_status({"MessageSid": "SM1", "MessageStatus": "received"},
                        received_at=NOW) is None


@pytest.mark.parametrize(("code", "status", "kind"), [
    (63016, None, OutsideWindow), (21610, None, Unreachable), (63003, None, Unreachable),
    (20429, 429, RateLimited), (None, 503, Transient), (30008, None, Transient),
    (21408, 400, ChannelError),
])
def test_error_codes(code: int | None, status: int | None, kind: type[ChannelError]) -> None:
    assert type(error_for_code(code, status=status)) is kind
