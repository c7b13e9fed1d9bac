"""Surveys over WhatsApp and SMS through the whole app, with signed Twilio webhooks."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.invitations import InvitationError, InvitationRequest, create_invitation, dispatch
from bot.runtime import Runtime
from channels.whatsapp import TwilioChannel
from flows.catalog import get_catalog
from storage.models import (
    DeliveryEvent,
    InboundMessage,
    Invitation,
    Outbox,
    Respondent,
    Response,
)
from storage.types import utcnow
from tests.bot.helpers import count
from tests.channels.conftest import SCORE_TEMPLATE, WINDOW_TEMPLATE, App, fixture_form
from tests.fakes.twilio import OUTSIDE_WINDOW, WHATSAPP_FROM, FakeTwilio, inbound_form

PHONE = "+5511999990000"
ADDRESS = f"whatsapp:{PHONE}"
MESSAGES = "/webhooks/twilio/messages"
STATUS = "/webhooks/twilio/status"
PRODUCT = "Acme Security"


async def _responses(runtime: Runtime) -> list[Response]:
    async with runtime.sessions() as session:
        return list(await session.exec(select(Response)))


async def _respondent(runtime: Runtime, address: str = ADDRESS) -> Respondent:
    async with runtime.sessions() as session:
        found = await session.exec(select(Respondent).where(Respondent.address == address))
        return found.one()


async def _invitation(runtime: Runtime, invitation_id: str) -> Invitation:
    async with runtime.sessions() as session:
        invitation = await session.get(Invitation, invitation_id)
    assert invitation is not None
    return invitation


async def _outbox(runtime: Runtime) -> list[Outbox]:
    async with runtime.sessions() as session:
        rows = await session.exec(select(Outbox))
        return sorted(rows, key=lambda row: (row.created_at, row.ordinal))


async def _say(app: App, sid: int, body: str, *, phone: str = PHONE,
               button_payload: str | None = None, whatsapp: bool = True) -> int:
    form = inbound_form(f"SM{sid:032d}", phone, body, button_payload=button_payload,
                        whatsapp=whatsapp)
    response = await app.twilio_post(MESSAGES, form)
    await app.settle()
    return response.status


async def _invite(app: App, phone: str = PHONE, channel: str = "whatsapp") -> Invitation:
    created = await create_invitation(app.runtime,
                                      InvitationRequest(channel=channel, address=phone))
    return await dispatch(app.runtime, created.id)


async def _at_reason(app: App) -> None:
    await _invite(app)
    for sid, body in ((1, "sim"), (2, "3")):
        assert await _say(app, sid, body) == 200


async def test_full_survey_in_portuguese(app: App, fake_twilio: FakeTwilio) -> None:
    invitation = await _invite(app)
    replies = ("sim", "９", "O suporte demorou três dias para responder")
    statuses = [await _say(app, sid, body) for sid, body in enumerate(replies, start=1)]

    catalog = get_catalog("pt_BR")
    opening, score_prompt, reason_prompt, thanks = fake_twilio.sent_to(ADDRESS)
    assert statuses == [200, 200, 200]
    assert opening.content_sid == WINDOW_TEMPLATE
    assert json.loads(opening.content_variables or "") == {
        "1": catalog.text("consent.prompt", product=PRODUCT,
                          policy_url="https://example.com/privacy")}
    assert score_prompt.body == catalog.text("score.prompt_0_10", product=PRODUCT)
    assert score_prompt.content_sid is None
    assert reason_prompt.body == catalog.text("reason.promoter", product=PRODUCT)
    assert thanks.body == catalog.text("thanks.promoter")
    [stored] = await _responses(app.runtime)
    assert stored.score == 9
    assert stored.raw_text == "９"
    assert stored.locale == "pt_BR"
    assert stored.country == "BR"
    assert stored.comment == "O suporte demorou três dias para responder"
    assert stored.comment_language == "pt_BR"
    assert stored.invitation_id == invitation.id
    assert (await _invitation(app.runtime, invitation.id)).status == "answered"


async def test_button_payload_scores(app: App) -> None:
    await _invite(app)
    await _say(app, 1, "sim")
    form = fixture_form("twilio_whatsapp_button.txt")

    response = await app.twilio_post(MESSAGES, form)
    await app.settle()

    [stored] = await _responses(app.runtime)
    assert response.status == 200
    assert stored.score == 9


async def test_message_twice_in_a_row(app: App, fake_twilio: FakeTwilio) -> None:
    await _invite(app)
    await _say(app, 1, "sim")

    first = await _say(app, 2, "8")
    second = await _say(app, 2, "8")

    assert (first, second) == (200, 200)
    assert [stored.score for stored in await _responses(app.runtime)] == [8]
    assert len(fake_twilio.sent_to(ADDRESS)) == 3


async def test_message_twice_at_once(app: App, fake_twilio: FakeTwilio) -> None:
    await _invite(app)
    await _say(app, 1, "sim")
    form = inbound_form(f"SM{2:032d}", PHONE, "6")

    responses = await asyncio.gather(app.twilio_post(MESSAGES, form),
                                     app.twilio_post(MESSAGES, form))
    await app.settle()

    statuses = sorted(response.status for response in responses)
    assert statuses in ([200, 200], [200, 503])
    assert [stored.score for stored in await _responses(app.runtime)] == [6]
    assert len(fake_twilio.sent_to(ADDRESS)) == 3


async def test_lost_claim_still_deduplicated(app: App) -> None:
    await _invite(app)
    await _say(app, 1, "sim")
    await _say(app, 2, "10")
    await app.runtime.claims.release(f"twilio:message:SM{2:032d}")

    again = await _say(app, 2, "10")

    assert again == 200
    assert [stored.score for stored in await _responses(app.runtime)] == [10]


@pytest.mark.parametrize("signature", ["forged+signature=", None])
@pytest.mark.parametrize("path", [MESSAGES, STATUS])
async def test_forged_signature_rejected(app: App, fake_twilio: FakeTwilio, path: str,
                                         signature: str | None) -> None:
    form = fixture_form("twilio_whatsapp_inbound.txt" if path == MESSAGES
                        else "twilio_status_callback.txt")

    response = await app.twilio_post(path, form, signature=signature)
    await app.settle()

    assert response.status == 403
    assert await count(app.runtime, Respondent) == 0
    assert await count(app.runtime, InboundMessage) == 0
    assert await count(app.runtime, DeliveryEvent) == 0
    assert fake_twilio.messages == []


async def test_signature_for_internal_url_rejected(app: App) -> None:
    form = inbound_form(f"SM{1:032d}", PHONE, "oi")
    internal = str(app.client.make_url(MESSAGES))

    response = await app.twilio_post(MESSAGES, form, url=internal)

    assert response.status == 403
    assert await count(app.runtime, InboundMessage) == 0


async def test_signature_with_port_accepted(app: App) -> None:
    await _invite(app)
    form = inbound_form(f"SM{1:032d}", PHONE, "sim")

    response = await app.twilio_post(
        MESSAGES, form, url=f"https://nps.example.com:443{MESSAGES}")

    assert response.status == 200
    assert response.content_type == "text/xml"
    assert await count(app.runtime, InboundMessage) == 1


async def test_reply_after_window_is_template(app: App, fake_twilio: FakeTwilio) -> None:
    await _invite(app)
    await _say(app, 1, "sim")
    respondent = await _respondent(app.runtime)
    async with app.runtime.sessions() as session, session.begin():
        await session.exec(update(Respondent)
                           .where(Respondent.id == respondent.id)  # type: ignore[arg-type]
                           .values(last_inbound_at=utcnow() - timedelta(hours=25)))

    resent = await app.runtime.conversations.start(respondent.id)
    await app.runtime.after_commit(resent)

    last = fake_twilio.sent_to(ADDRESS)[-1]
    score_prompt = get_catalog("pt_BR").text("score.prompt_0_10", product=PRODUCT)
    assert last.content_sid == WINDOW_TEMPLATE
    assert json.loads(last.content_variables or "") == {"1": score_prompt}
    assert last.body is None


async def test_undelivered_63016_fails_invitation(app: App, fake_twilio: FakeTwilio) -> None:
    await _say(app, 1, "oi")  # the customer wrote first, so the window is open
    fake_twilio.fail_next(OUTSIDE_WINDOW)

    invitation = await _invite(app)
    await app.settle()

    [message] = fake_twilio.sent_to(ADDRESS)
    failed = await _invitation(app.runtime, invitation.id)
    [row] = await _outbox(app.runtime)
    assert message.content_sid is None
    assert fake_twilio.callback_responses == [200]
    assert failed.status == "failed"
    assert failed.provider_message_id == message.sid
    assert "63016" in (failed.last_error or "")
    assert row.status == "failed"


async def test_status_dedupe_on_sid_and_status(app: App, fake_twilio: FakeTwilio) -> None:
    invitation = await _invite(app)
    [message] = fake_twilio.sent_to(ADDRESS)

    results = [await fake_twilio.post_status(message, status)
               for status in ("sent", "delivered", "delivered", "read")]

    assert results == [200, 200, 200, 200]
    assert await count(app.runtime, DeliveryEvent) == 3
    assert (await _invitation(app.runtime, invitation.id)).status == "delivered"
    [row] = await _outbox(app.runtime)
    assert row.status == "read"


async def test_status_out_of_order_keeps_latest(app: App, fake_twilio: FakeTwilio) -> None:
    invitation = await _invite(app)
    [message] = fake_twilio.sent_to(ADDRESS)

    for status in ("delivered", "sent"):
        await fake_twilio.post_status(message, status)

    assert (await _invitation(app.runtime, invitation.id)).status == "delivered"


async def test_status_fixture_for_unknown_message(app: App) -> None:
    response = await app.twilio_post(STATUS, fixture_form("twilio_status_callback.txt"))

    assert response.status == 200
    assert await count(app.runtime, DeliveryEvent, status="undelivered") == 1


async def test_stop_during_reason_opts_out(app: App, fake_twilio: FakeTwilio) -> None:
    await _at_reason(app)

    status = await _say(app, 3, "STOP")

    [stored] = await _responses(app.runtime)
    respondent = await _respondent(app.runtime)
    assert status == 200
    assert stored.comment is None
    assert respondent.opted_out_at is not None
    assert fake_twilio.sent_to(ADDRESS)[-1].body == get_catalog("pt_BR").text("stop.confirm")


async def test_localized_stop_opts_out(app: App) -> None:
    await _at_reason(app)

    await _say(app, 3, "sair")

    [stored] = await _responses(app.runtime)
    assert stored.comment is None
    assert (await _respondent(app.runtime)).opted_out_at is not None


async def test_start_subscribes_again(app: App, fake_twilio: FakeTwilio) -> None:
    await _at_reason(app)
    await _say(app, 3, "STOP")

    status = await _say(app, 4, "voltar")

    assert status == 200
    assert (await _respondent(app.runtime)).opted_out_at is None
    assert fake_twilio.sent_to(ADDRESS)[-1].body == get_catalog("en").text("start.confirm")
    [stored] = await _responses(app.runtime)
    assert stored.comment is None


async def test_opted_out_not_invited(app: App, fake_twilio: FakeTwilio) -> None:
    await _at_reason(app)
    await _say(app, 3, "STOP")
    sent_before = len(fake_twilio.messages)

    invitation = await _invite(app)

    assert invitation.status == "suppressed"
    assert invitation.suppressed_reason == "opted_out"
    assert len(fake_twilio.messages) == sent_before


async def test_apostrophe_comment_validates(app: App) -> None:
    await _at_reason(app)

    status = await _say(app, 3, "It's slow & the app doesn't \"sync\" 100%")

    [stored] = await _responses(app.runtime)
    assert status == 200
    assert stored.comment == "It's slow & the app doesn't \"sync\" 100%"


async def test_sms_survey(app: App, fake_twilio: FakeTwilio) -> None:
    phone = "+14155550123"
    await _invite(app, phone, channel="sms")
    for sid, body in ((1, "yes"), (2, "10"), (3, "skip")):
        assert await _say(app, sid, body, phone=phone, whatsapp=False) == 200

    sent = fake_twilio.sent_to(phone)
    [stored] = await _responses(app.runtime)
    assert len(sent) == 4
    assert all(message.content_sid is None for message in sent)
    assert sent[0].body == get_catalog("en").text(
        "consent.prompt", product=PRODUCT, policy_url="https://example.com/privacy")
    assert stored.channel == "sms"
    assert stored.score == 10
    assert stored.country == "US"


async def test_invite_needs_phone_number(app: App) -> None:
    with pytest.raises(InvitationError, match="international format"):
        await create_invitation(app.runtime, InvitationRequest(channel="whatsapp",
                                                               address="11 99999 0000"))


async def test_invite_rejects_unknown_locale(app: App) -> None:
    with pytest.raises(InvitationError, match="'xx' is not supported"):
        await create_invitation(app.runtime, InvitationRequest(
            channel="whatsapp", address=PHONE, locale="xx"))


async def test_status_before_sid_stored(app: App, fake_twilio: FakeTwilio) -> None:
    next_sid = f"SM{len(fake_twilio.messages) + 1:032x}"
    early = {"MessageSid": next_sid, "MessageStatus": "delivered", "To": ADDRESS,
             "From": "whatsapp:+14155550100", "AccountSid": fake_twilio.account_sid}
    response = await app.twilio_post(STATUS, early)

    invitation = await _invite(app)

    [row] = await _outbox(app.runtime)
    assert response.status == 200
    assert row.provider_message_id == next_sid
    assert row.status == "delivered"
    assert invitation.status == "delivered"


async def test_score_template_then_button(app: App, fake_twilio: FakeTwilio) -> None:
    current = app.runtime.channels["whatsapp"]
    assert isinstance(current, TwilioChannel)
    app.runtime.channels["whatsapp"] = TwilioChannel(
        current.account, name="whatsapp", sender=WHATSAPP_FROM,
        window_template=WINDOW_TEMPLATE, score_template=SCORE_TEMPLATE)
    await _invite(app)

    await _say(app, 1, "sim")
    score_prompt = fake_twilio.sent_to(ADDRESS)[-1]
    await _say(app, 2, "7", button_payload="nps:7")

    assert score_prompt.content_sid == SCORE_TEMPLATE
    assert json.loads(score_prompt.content_variables or "") == {
        "1": get_catalog("pt_BR").text("score.prompt_0_10", product=PRODUCT)}
    [stored] = await _responses(app.runtime)
    assert stored.score == 7
