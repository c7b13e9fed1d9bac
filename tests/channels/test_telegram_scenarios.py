"""Surveys over Telegram through the whole app: webhook in, fake Bot API out, rows stored."""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.invitations import InvitationError, InvitationRequest, create_invitation, dispatch_due
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.surveys import SurveyConfig, SurveysFile
from bot.webhooks import TELEGRAM_KEY
from bot.webhooks.telegram import start_polling
from channels.base import InboundMessage
from flows import Scale
from flows.catalog import get_catalog
from storage.models import Consent, Invitation, Outbox, Respondent, Response
from storage.models import InboundMessage as InboundRecord
from storage.types import utcnow
from tests.bot.helpers import count
from tests.channels.conftest import App
from tests.fakes.telegram import (
    RATE_LIMITED,
    STALE_QUERY,
    FakeTelegram,
    callback_update,
    text_update,
)

CHAT = 555000111
PRODUCT = "Acme Security"


async def _responses(runtime: Runtime) -> list[Response]:
    async with runtime.sessions() as session:
        return list(await session.exec(select(Response)))


async def _respondent(runtime: Runtime, address: str) -> Respondent:
    async with runtime.sessions() as session:
        found = await session.exec(select(Respondent).where(Respondent.address == address))
        return found.one()


async def _invitation(runtime: Runtime, invitation_id: str) -> Invitation:
    async with runtime.sessions() as session:
        invitation = await session.get(Invitation, invitation_id)
    assert invitation is not None
    return invitation


async def _start(app: App, update_id: int = 1, chat: int = CHAT, text: str = "/start",
                 language_code: str | None = "en") -> None:
    response = await app.telegram(text_update(update_id, chat, text, language_code=language_code))
    assert response.status == 200
    await app.settle()


async def test_full_survey_buttons_then_text(app: App, fake_telegram: FakeTelegram) -> None:
    await _start(app)
    for update_id, data in ((2, "consent:yes"), (3, "nps:9")):
        response = await app.telegram(callback_update(update_id, CHAT, data))
        assert response.status == 200
        await app.settle()
    response = await app.telegram(text_update(4, CHAT, "Great support, fast answers"))
    assert response.status == 200
    await app.settle()

    sent = fake_telegram.sent_to(CHAT)
    assert [message.button_rows for message in sent] == [
        [["consent:yes", "consent:no"]],
        [[f"nps:{value}" for value in range(6)], [f"nps:{value}" for value in range(6, 11)]],
        [["skip"]],
        [],
    ]
    catalog = get_catalog("en")
    assert sent[2].text == catalog.text("reason.promoter", product=PRODUCT)
    assert sent[3].text == catalog.text("thanks.promoter")
    [stored] = await _responses(app.runtime)
    assert stored.score == 9
    assert stored.category == "promoter"
    assert stored.comment == "Great support, fast answers"
    assert stored.channel == "telegram"
    assert await count(app.runtime, Consent, granted=True) == 1
    assert len(fake_telegram.calls_of("answerCallbackQuery")) == 2


async def test_language_code_picks_locale(app: App, fake_telegram: FakeTelegram) -> None:
    await _start(app, chat=1, language_code="pt-BR")
    await _start(app, update_id=2, chat=2, language_code="it-IT")
    await _start(app, update_id=3, chat=3, language_code=None)

    assert fake_telegram.sent_to(1)[0].text.startswith("Olá!")
    english = get_catalog("en").text("consent.prompt", product=PRODUCT,
                                     policy_url="https://example.com/privacy")
    assert fake_telegram.sent_to(2)[0].text == english
    assert fake_telegram.sent_to(3)[0].text == english
    assert (await _respondent(app.runtime, "1")).locale == "pt_BR"


async def test_update_twice_in_a_row(app: App, fake_telegram: FakeTelegram) -> None:
    await _start(app)
    await app.telegram(callback_update(2, CHAT, "consent:yes"))
    await app.settle()
    score = text_update(3, CHAT, "7")

    first = await app.telegram(score)
    second = await app.telegram(score)
    await app.settle()

    assert first.status == 200
    assert second.status == 200
    assert [stored.score for stored in await _responses(app.runtime)] == [7]
    assert await count(app.runtime, InboundRecord, respondent_id=(
        await _respondent(app.runtime, str(CHAT))).id) == 3
    assert len(fake_telegram.sent_to(CHAT)) == 3


async def test_update_twice_at_once(app: App, fake_telegram: FakeTelegram) -> None:
    await _start(app)
    await app.telegram(callback_update(2, CHAT, "consent:yes"))
    await app.settle()
    score = text_update(3, CHAT, "4")

    responses = await asyncio.gather(app.telegram(score), app.telegram(score))
    await app.settle()

    statuses = sorted(response.status for response in responses)
    assert statuses in ([200, 200], [200, 503])
    assert [stored.score for stored in await _responses(app.runtime)] == [4]
    assert len(fake_telegram.sent_to(CHAT)) == 3


@pytest.mark.parametrize("secret", ["wrong-secret", None])
async def test_forged_secret_rejected(app: App, fake_telegram: FakeTelegram,
                                      secret: str | None) -> None:
    response = await app.telegram(text_update(1, CHAT, "/start"), secret=secret)
    await app.settle()

    assert response.status == 403
    assert await count(app.runtime, Respondent) == 0
    assert await count(app.runtime, InboundRecord) == 0
    assert fake_telegram.calls == []


async def test_malformed_update_rejected(app: App) -> None:
    response = await app.client.post("/webhooks/telegram", data=b"{not json",
                                      headers={"X-Telegram-Bot-Api-Secret-Token":
                                               "test-webhook-secret_1"})

    assert response.status == 400
    assert await count(app.runtime, InboundRecord) == 0


async def test_blocked_user_batch_goes_on(app: App, fake_telegram: FakeTelegram) -> None:
    ids = []
    for chat in (101, 102, 103):
        request = InvitationRequest(channel="telegram", address=str(chat))
        ids.append((await create_invitation(app.runtime, request)).id)
    fake_telegram.block(102)

    dispatched = await dispatch_due(app.runtime)

    assert dispatched == 3
    assert len(fake_telegram.sent_to(101)) == 1
    assert len(fake_telegram.sent_to(103)) == 1
    assert fake_telegram.sent_to(102) == []
    statuses = [(await _invitation(app.runtime, invitation_id)).status for invitation_id in ids]
    assert statuses == ["sent", "failed", "sent"]
    assert (await _respondent(app.runtime, "102")).unreachable_at is not None
    assert (await _respondent(app.runtime, "101")).unreachable_at is None


async def test_blocked_user_not_invited_again(app: App, fake_telegram: FakeTelegram) -> None:
    fake_telegram.block(102)
    await create_invitation(app.runtime, InvitationRequest(channel="telegram", address="102"))
    await dispatch_due(app.runtime)
    second = await create_invitation(app.runtime,
                                     InvitationRequest(channel="telegram", address="102"))

    await dispatch_due(app.runtime)

    again = await _invitation(app.runtime, second.id)
    assert again.status == "suppressed"
    assert again.suppressed_reason == "unreachable"
    assert len(fake_telegram.calls_of("sendMessage")) == 1


async def test_rate_limit_waits_retry_after(app: App, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", RATE_LIMITED, retry_after=1)
    invitation = await create_invitation(app.runtime,
                                         InvitationRequest(channel="telegram", address="201"))
    await dispatch_due(app.runtime)

    early = await app.runtime.outbox.deliver_stale(older_than=timedelta(0))
    async with app.runtime.sessions() as session:
        [row] = list(await session.exec(select(Outbox)))
    assert early == 0
    assert row.status == "pending"
    assert row.next_attempt_at is not None
    assert (await _invitation(app.runtime, invitation.id)).status == "scheduled"

    await asyncio.sleep(max(0.0, (row.next_attempt_at - utcnow()).total_seconds()) + 0.05)
    late = await app.runtime.outbox.deliver_stale(older_than=timedelta(0))

    limited, retried = fake_telegram.calls_of("sendMessage")
    assert late == 1
    assert limited.status == 429
    assert retried.status == 200
    assert retried.at - limited.at >= 1.0
    assert (await _invitation(app.runtime, invitation.id)).status == "sent"


async def test_rate_limit_holds_rest_of_batch(app: App, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", RATE_LIMITED, retry_after=30)
    for chat in (301, 302):
        await create_invitation(app.runtime, InvitationRequest(channel="telegram",
                                                               address=str(chat)))

    await dispatch_due(app.runtime)

    assert len(fake_telegram.calls_of("sendMessage")) == 1
    async with app.runtime.sessions() as session:
        rows = list(await session.exec(select(Outbox)))
    assert [row.status for row in rows] == ["pending", "pending"]
    assert all(row.next_attempt_at is not None for row in rows)


async def test_stale_callback_still_counts(app: App, fake_telegram: FakeTelegram) -> None:
    await _start(app)
    fake_telegram.fail_next("answerCallbackQuery", STALE_QUERY)

    response = await app.telegram(callback_update(2, CHAT, "consent:yes"))
    await app.settle()

    assert response.status == 200
    assert fake_telegram.calls_of("answerCallbackQuery")[0].status == 400
    assert fake_telegram.sent_to(CHAT)[-1].button_rows[0][0] == "nps:0"


async def test_apostrophe_comment_stored(app: App) -> None:
    await _start(app)
    await app.telegram(callback_update(2, CHAT, "consent:yes"))
    await app.telegram(callback_update(3, CHAT, "nps:3"))
    response = await app.telegram(text_update(4, CHAT, "It's slow and the app doesn't sync"))
    await app.settle()

    [stored] = await _responses(app.runtime)
    assert response.status == 200
    assert stored.comment == "It's slow and the app doesn't sync"


async def test_deep_link_opens_invitation(app: App, fake_telegram: FakeTelegram) -> None:
    request = InvitationRequest(channel="sms", address="+14155550123",
                                attributes={"customer_type": "enterprise"})
    invitation = await create_invitation(app.runtime, request)

    await _start(app, text=f"/start {invitation.id}")

    async with app.runtime.sessions() as session:
        rows = list(await session.exec(select(Outbox)))
    assert [row.invitation_id for row in rows] == [invitation.id]
    assert (await _invitation(app.runtime, invitation.id)).status == "sent"
    respondent = await _respondent(app.runtime, str(CHAT))
    assert respondent.customer_type == "enterprise"
    assert respondent.country == "US"
    assert len(fake_telegram.sent_to(CHAT)) == 1


async def test_start_twice_resends_question(app: App, fake_telegram: FakeTelegram) -> None:
    await _start(app)
    await _start(app, update_id=2)

    first, second = fake_telegram.sent_to(CHAT)
    assert second.text == first.text
    assert await count(app.runtime, InboundRecord) == 2


async def test_stop_then_start_reopens(app: App, fake_telegram: FakeTelegram) -> None:
    await _start(app)
    await app.telegram(text_update(2, CHAT, "stop"))
    await app.settle()
    assert (await _respondent(app.runtime, str(CHAT))).opted_out_at is not None

    await _start(app, update_id=3)

    assert (await _respondent(app.runtime, str(CHAT))).opted_out_at is None
    assert fake_telegram.sent_to(CHAT)[-1].button_rows == [["consent:yes", "consent:no"]]


async def test_crash_before_send_resent(app: App, fake_telegram: FakeTelegram) -> None:
    await _start(app)
    handler_result = await app.runtime.conversations.handle(
        app.runtime.channels["telegram"].parse_webhook(  # type: ignore[attr-defined]
            b'{"update_id": 9, "callback_query": {"id": "q9", "from": {"id": 555000111, '
            b'"is_bot": false, "first_name": "Ana"}, "chat_instance": "1", '
            b'"data": "consent:yes"}}', received_at=utcnow()).message
    )
    assert len(fake_telegram.sent_to(CHAT)) == 1

    resent = await app.runtime.outbox.deliver_stale(older_than=timedelta(0))

    assert len(handler_result.outbox_ids) == 1
    assert resent == 1
    assert fake_telegram.sent_to(CHAT)[-1].button_rows[0][0] == "nps:0"


async def test_invite_needs_chat_id(app: App) -> None:
    with pytest.raises(InvitationError, match="needs their chat id") as caught:
        await create_invitation(app.runtime, InvitationRequest(channel="telegram", address=None))

    assert "/start" in str(caught.value)
    assert "the chat id is missing" in str(caught.value)
    with pytest.raises(InvitationError, match="'@ana' is not a chat id"):
        await create_invitation(app.runtime, InvitationRequest(channel="telegram",
                                                               address="@ana"))


async def test_polling_feeds_same_path(app: App, fake_telegram: FakeTelegram) -> None:
    fake_telegram.webhook = {"url": "https://nps.example.com/webhooks/telegram"}
    fake_telegram.pending_updates.append(text_update(50, CHAT, "/start"))
    polling = start_polling(app.client.app[TELEGRAM_KEY])
    try:
        await asyncio.wait_for(fake_telegram.message_sent.wait(), 5)
    finally:
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
    await app.settle()

    assert fake_telegram.webhook == {}
    assert fake_telegram.sent_to(CHAT)[0].button_rows == [["consent:yes", "consent:no"]]
    assert await count(app.runtime, InboundRecord) == 1


async def test_five_point_market_one_row(channel_settings: Settings,
                                         fake_telegram: FakeTelegram) -> None:
    surveys = SurveysFile(surveys=[SurveyConfig(id="relationship", product=PRODUCT,
                                                scale_by_country={"JP": Scale.ONE_TO_FIVE})])
    runtime = await open_runtime(channel_settings, surveys=surveys, alert_stream=io.StringIO())
    try:
        request = InvitationRequest(channel="telegram", address="401",
                                    attributes={"country": "JP"})
        await create_invitation(runtime, request)
        await dispatch_due(runtime)
        consent = InboundMessage(channel="telegram", address="401", provider_message_id="c1",
                                   received_at=utcnow(), payload="consent:yes")
        await runtime.receive(consent)
    finally:
        await runtime.close()

    score_prompt = fake_telegram.sent_to(401)[-1]
    assert score_prompt.button_rows == [["nps:1", "nps:2", "nps:3", "nps:4", "nps:5"]]
    assert score_prompt.text == get_catalog("ja").text("score.prompt_1_5", product=PRODUCT)


async def test_start_over_fatigue_cap(app: App, fake_telegram: FakeTelegram) -> None:
    for update_id in (1, 3):
        await _start(app, update_id=update_id)
        await app.telegram(text_update(update_id + 1, CHAT, "stop"))
        await app.settle()
    sent_before = len(fake_telegram.sent_to(CHAT))

    response = await app.telegram(text_update(5, CHAT, "/start"))
    await app.settle()
    invitation = await create_invitation(app.runtime,
                                         InvitationRequest(channel="telegram", address=str(CHAT)))
    await dispatch_due(app.runtime)

    assert response.status == 200
    assert len(fake_telegram.sent_to(CHAT)) == sent_before
    suppressed = await _invitation(app.runtime, invitation.id)
    assert suppressed.status == "suppressed"
    assert "cap is 2" in (suppressed.suppressed_reason or "")
