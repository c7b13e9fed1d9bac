"""The NPS conversation state machine, driven through flows.start and flows.step."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import flows
from flows import (
    Category,
    Finish,
    OptOut,
    Outcome,
    RecordComment,
    RecordConsent,
    RecordEffort,
    RecordScore,
    Scale,
    Send,
    SetLocale,
    Step,
)
from flows.catalog import get_catalog
from flows.language import LocaleSource

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
PRODUCT = "Acme Security"
POLICY_URL = "https://example.com/privacy"
SPEC = flows.SurveySpec(survey_id="relationship", product=PRODUCT, policy_url=POLICY_URL)
EFFORT_SPEC = replace(SPEC, ask_effort=True)
FIVE_SPEC = replace(SPEC, scale=Scale.ONE_TO_FIVE)

# The replies that take a conversation with an effort question to each step.
PATH_TO = {
    Step.CONSENT: (),
    Step.SCORE: ("yes",),
    Step.REASON: ("yes", "9"),
    Step.EFFORT: ("yes", "9", "The dashboard is clear"),
    Step.DONE: ("yes", "9", "The dashboard is clear", "6"),
}
ANSWER_RECORDS = (RecordScore, RecordComment, RecordEffort)



def reply(text: str, *, payload: str | None = None, at: datetime | None = None) -> flows.Reply:
    return flows.Reply(text=text, received_at=at or T0 + timedelta(minutes=5), payload=payload)


def open_survey(
    spec: flows.SurveySpec = SPEC, *, locale: str = "en", **options: Any
) -> tuple[flows.ConversationState, tuple[flows.Action, ...]]:
    return flows.start(spec, locale=locale, locale_source=LocaleSource.EXPLICIT, now=T0,
                       **options)


def answer(
    state: flows.ConversationState, *texts: str
) -> tuple[flows.ConversationState, tuple[flows.Action, ...]]:
    """Send each text in turn and return the last state and the actions of the last step."""
    actions: tuple[flows.Action, ...] = ()
    for text in texts:
        state, actions = flows.step(state, reply(text))
    return state, actions


def reach(step: Step, spec: flows.SurveySpec = EFFORT_SPEC) -> flows.ConversationState:
    state, _ = open_survey(spec)
    state, _ = answer(state, *PATH_TO[step])
    assert state.step is step
    return state


def send_keys(actions: tuple[flows.Action, ...]) -> list[str]:
    return [action.key for action in actions if isinstance(action, Send)]


def only(actions: tuple[flows.Action, ...], kind: type) -> Any:
    found = [action for action in actions if isinstance(action, kind)]
    assert len(found) == 1, f"expected one {kind.__name__} in {actions}"
    return found[0]


def count(actions: tuple[flows.Action, ...], kind: type | tuple[type, ...]) -> int:
    return sum(isinstance(action, kind) for action in actions)


def rendered(key: str, locale: str = "en") -> str:
    return get_catalog(locale).text(key, product=PRODUCT, policy_url=POLICY_URL)


# --- Opening ----------------------------------------------------------------------------


def test_start_asks_consent() -> None:
    state, actions = open_survey()

    assert state.step is Step.CONSENT
    assert send_keys(actions) == ["consent.prompt"]
    assert actions[0].text == rendered("consent.prompt")
    assert [button.payload for button in actions[0].buttons] == ["consent:yes", "consent:no"]


def test_consent_on_file_asks_score() -> None:
    state, actions = open_survey(consent_on_file=True)

    assert state.step is Step.SCORE
    assert send_keys(actions) == ["score.prompt_0_10"]
    assert [b.payload for b in actions[0].buttons] == [f"nps:{v}" for v in range(11)]


def test_consent_record_fields() -> None:
    state, _ = open_survey()

    _, actions = answer(state, "yes")
    record = only(actions, RecordConsent)

    assert record.granted is True
    assert record.text_shown == rendered("consent.prompt")
    assert record.locale == "en"
    assert record.catalog_version == get_catalog("en").version
    assert record.policy_version == "1"
    assert record.jurisdiction == "default"


# --- Only the consent decision before consent -------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["9", "great", "sí", "nine", "10 out of 10", "no", "banana", "help", "español", "STOP"],
)
def test_consent_step_records_no_answer(text: str) -> None:
    state, _ = open_survey()

    _, actions = answer(state, text)

    assert count(actions, RecordScore) == 0
    assert count(actions, RecordComment) == 0
    assert count(actions, RecordEffort) == 0


def test_consent_step_records_decision() -> None:
    state, _ = open_survey()

    state, actions = answer(state, "sí")

    assert only(actions, RecordConsent).granted is True
    assert state.step is Step.SCORE


def test_consent_chatter_records_nothing() -> None:
    state, _ = open_survey()
    recorded = []
    for text in ("9", "great", "8", "the app is fine"):
        state, actions = answer(state, text)
        recorded += [a for a in actions if isinstance(a, (*ANSWER_RECORDS, RecordConsent))]

    assert recorded == []
    assert state.step is Step.CONSENT
    assert state.score is None


# --- A score sent before consent is held ------------------------------------------------


def test_early_score_is_held() -> None:
    state, _ = open_survey()

    state, actions = answer(state, "9")

    assert state.step is Step.CONSENT
    assert state.pending_score == 9
    assert state.score is None
    assert send_keys(actions) == ["consent.score_held", "consent.prompt"]
    assert [b.payload for b in actions[1].buttons] == ["consent:yes", "consent:no"]


def test_held_score_recorded_after_yes() -> None:
    state, _ = open_survey()

    state, actions = answer(state, "9", "yes")

    assert [type(action) for action in actions] == [RecordConsent, RecordScore, Send]
    assert only(actions, RecordScore) == RecordScore(
        score=9, scale=Scale.ZERO_TO_TEN, category=Category.PROMOTER, raw="9"
    )
    assert send_keys(actions) == ["reason.promoter"]
    assert state.step is Step.REASON
    assert state.score == 9
    assert state.pending_score is None


def test_held_score_dropped_after_no() -> None:
    state, _ = open_survey()

    state, actions = answer(state, "9", "no")

    assert count(actions, ANSWER_RECORDS) == 0
    assert only(actions, RecordConsent).granted is False
    assert send_keys(actions) == ["consent.declined"]
    assert only(actions, Finish) == Finish(Outcome.DECLINED)
    assert state.step is Step.DONE
    assert state.outcome is Outcome.DECLINED
    assert state.score is None


def _decline(state: flows.ConversationState) -> flows.ConversationState:
    return answer(state, "no")[0]


def _stop(state: flows.ConversationState) -> flows.ConversationState:
    return answer(state, "STOP")[0]


def _expire(state: flows.ConversationState) -> flows.ConversationState:
    return flows.step(state, flows.Tick(now=state.deadline + timedelta(seconds=1)))[0]


@pytest.mark.parametrize("end", [_decline, _stop, _expire], ids=["declined", "stop", "expired"])
def test_ended_consent_drops_held_score(end: Any) -> None:
    state, _ = open_survey()
    state, _ = answer(state, "9")

    ended = end(state)

    assert ended.step is Step.DONE
    assert ended.pending_score is None
    assert ended.to_dict()["pending_score"] is None


def test_first_reply_score_is_held() -> None:
    state, actions = open_survey(first_reply=reply("9", at=T0))

    assert state.step is Step.CONSENT
    assert state.pending_score == 9
    assert count(actions, ANSWER_RECORDS) == 0
    assert send_keys(actions) == ["consent.score_held", "consent.prompt"]


def test_first_reply_score_recorded_later() -> None:
    state, _ = open_survey(first_reply=reply("9", at=T0))

    state, actions = answer(state, "yes")

    assert only(actions, RecordScore).score == 9
    assert state.step is Step.REASON


def test_first_reply_chatter_ignored() -> None:
    state, actions = open_survey(first_reply=reply("hello there", at=T0))

    assert state.step is Step.CONSENT
    assert state.pending_score is None
    assert send_keys(actions) == ["consent.prompt"]


def test_first_reply_stop_opts_out() -> None:
    state, actions = open_survey(first_reply=reply("STOP", at=T0))

    assert actions[0] == OptOut()
    assert state.outcome is Outcome.OPTED_OUT


def test_consent_text_was_sent() -> None:
    state, opening = open_survey()
    state, held_actions = answer(state, "9")

    _, actions = answer(state, "yes")
    sent = [a.text for a in (*opening, *held_actions) if isinstance(a, Send)]

    assert only(actions, RecordConsent).text_shown in sent


def test_held_consent_text_was_sent() -> None:
    state, opening = open_survey(first_reply=reply("9", at=T0))

    _, actions = answer(state, "yes")
    sent = [action.text for action in opening if isinstance(action, Send)]

    assert only(actions, RecordConsent).text_shown in sent


# --- STOP at every step -----------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", "stop", "Stop", "baja", "停止"])
@pytest.mark.parametrize("step", list(PATH_TO), ids=[step.value for step in PATH_TO])
def test_stop_ends_conversation(step: Step, word: str) -> None:
    state = reach(step)

    state, actions = answer(state, word)

    assert actions[0] == OptOut()
    assert send_keys(actions) == ["stop.confirm"]
    assert actions[-1] == Finish(Outcome.OPTED_OUT)
    assert state.step is Step.DONE
    assert state.outcome is Outcome.OPTED_OUT


@pytest.mark.parametrize("word", ["STOP", "baja"])
def test_stop_in_reason_records_nothing(word: str) -> None:
    state = reach(Step.REASON)

    _, actions = answer(state, word)

    assert count(actions, ANSWER_RECORDS) == 0


def test_stop_in_spanish_survey() -> None:
    state, _ = open_survey(locale="es")

    state, actions = answer(state, "BAJA")

    assert count(actions, OptOut) == 1
    assert actions[1].locale == "es"
    assert actions[1].text == rendered("stop.confirm", "es")
    assert state.outcome is Outcome.OPTED_OUT


# --- Unreadable answers -----------------------------------------------------------------


def test_max_reasks_is_two() -> None:
    assert flows.MAX_REASKS == 2


def test_unreadable_score_reasked_twice() -> None:
    state = reach(Step.SCORE)

    first, first_actions = answer(state, "banana")
    second, second_actions = answer(first, "banana")
    third, third_actions = answer(second, "banana")

    assert send_keys(first_actions) == ["score.hint_0_10"]
    assert first.reasks == 1
    assert send_keys(second_actions) == ["score.hint_0_10"]
    assert second.reasks == 2
    assert second.step is Step.SCORE
    assert send_keys(third_actions) == ["ended.unreadable"]
    assert third_actions[-1] == Finish(Outcome.UNREADABLE)
    assert third.step is Step.DONE
    assert third.outcome is Outcome.UNREADABLE


def test_score_hint_keeps_buttons() -> None:
    state = reach(Step.SCORE)

    _, actions = answer(state, "banana")

    assert [b.payload for b in actions[0].buttons] == [f"nps:{v}" for v in range(11)]


def test_unreadable_consent_ends_third() -> None:
    state, _ = open_survey()

    state, first = answer(state, "maybe")
    state, second = answer(state, "maybe")
    state, third = answer(state, "maybe")

    assert send_keys(first) == ["consent.hint"]
    assert send_keys(second) == ["consent.hint"]
    assert send_keys(third) == ["ended.unreadable"]
    assert count(third, RecordConsent) == 0
    assert state.outcome is Outcome.UNREADABLE


def test_valid_answer_resets_reasks() -> None:
    state = reach(Step.SCORE)

    state, _ = answer(state, "banana", "banana", "7")

    assert state.step is Step.REASON
    assert state.reasks == 0


def test_blank_reason_reasked() -> None:
    state = reach(Step.REASON)

    state, actions = answer(state, "   ")

    assert send_keys(actions) == ["reason.hint"]
    assert count(actions, RecordComment) == 0
    assert state.step is Step.REASON


# --- Expiry -----------------------------------------------------------------------------


def test_default_deadline_72_hours() -> None:
    state, _ = open_survey()

    assert state.deadline == T0 + timedelta(hours=72)


def test_survey_expiry_sets_deadline() -> None:
    state, _ = open_survey(replace(SPEC, expiry=timedelta(hours=1)))

    assert state.deadline == T0 + timedelta(hours=1)


@pytest.mark.parametrize("step", [Step.CONSENT, Step.SCORE, Step.REASON, Step.EFFORT],
                         ids=lambda step: step.value)
def test_late_reply_expires(step: Step) -> None:
    state = reach(step)
    late = state.deadline + timedelta(seconds=1)

    state, actions = flows.step(state, reply("9", at=late))

    assert send_keys(actions) == ["ended.expired"]
    assert actions[-1] == Finish(Outcome.EXPIRED)
    assert count(actions, ANSWER_RECORDS) == 0
    assert state.step is Step.DONE
    assert state.outcome is Outcome.EXPIRED


def test_reply_at_deadline_accepted() -> None:
    state = reach(Step.SCORE)

    state, actions = flows.step(state, reply("9", at=state.deadline))

    assert only(actions, RecordScore).score == 9
    assert state.step is Step.REASON


def test_tick_after_deadline_expires() -> None:
    state = reach(Step.SCORE)

    state, actions = flows.step(state, flows.Tick(now=state.deadline + timedelta(seconds=1)))

    assert actions == (Finish(Outcome.EXPIRED),)
    assert state.step is Step.DONE
    assert state.outcome is Outcome.EXPIRED


@pytest.mark.parametrize("before", [timedelta(hours=71), timedelta(0)], ids=["71h", "deadline"])
def test_tick_before_deadline_noop(before: timedelta) -> None:
    state = reach(Step.SCORE)

    after, actions = flows.step(state, flows.Tick(now=T0 + before))

    assert actions == ()
    assert after == state


def test_tick_after_done_noop() -> None:
    state = reach(Step.DONE)

    after, actions = flows.step(state, flows.Tick(now=state.deadline + timedelta(days=1)))

    assert actions == ()
    assert after.outcome is Outcome.COMPLETED


def test_expired_ignores_replies() -> None:
    state = reach(Step.SCORE)
    state, _ = flows.step(state, flows.Tick(now=state.deadline + timedelta(seconds=1)))

    after, actions = answer(state, "9")

    assert actions == ()
    assert after == state


# --- Thanks by category -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "category"),
    [
        pytest.param("10", Category.PROMOTER, id="10-promoter"),
        pytest.param("9", Category.PROMOTER, id="9-promoter"),
        pytest.param("8", Category.PASSIVE, id="8-passive"),
        pytest.param("7", Category.PASSIVE, id="7-passive"),
        pytest.param("6", Category.DETRACTOR, id="6-detractor"),
        pytest.param("0", Category.DETRACTOR, id="0-detractor"),
    ],
)
def test_thanks_by_category(score: str, category: Category) -> None:
    state = reach(Step.SCORE, SPEC)

    state, asked = answer(state, score)
    state, thanked = answer(state, "The reports are slow to load")

    assert only(asked, RecordScore).category is category
    assert send_keys(asked) == [f"reason.{category.value}"]
    assert send_keys(thanked) == [f"thanks.{category.value}"]
    assert state.outcome is Outcome.COMPLETED


def test_thanks_texts_differ() -> None:
    texts = {rendered(f"thanks.{category.value}") for category in Category}

    assert len(texts) == 3


def test_comment_is_recorded() -> None:
    state = reach(Step.REASON, SPEC)

    _, actions = answer(state, "  The reports are slow to load ")

    assert only(actions, RecordComment) == RecordComment(
        text="The reports are slow to load", language="en"
    )


# --- Effort question --------------------------------------------------------------------


def test_no_effort_by_default() -> None:
    state = reach(Step.REASON, SPEC)

    state, actions = answer(state, "The dashboard is clear")

    assert "effort.prompt" not in send_keys(actions)
    assert send_keys(actions) == ["thanks.promoter"]
    assert state.step is Step.DONE


def test_effort_asked_when_enabled() -> None:
    state = reach(Step.REASON, EFFORT_SPEC)

    state, actions = answer(state, "The dashboard is clear")

    assert send_keys(actions) == ["effort.prompt"]
    payloads = [b.payload for b in actions[-1].buttons]
    assert payloads == [*(f"ces:{v}" for v in range(1, 8)), "skip"]
    assert state.step is Step.EFFORT


def test_effort_answer_recorded() -> None:
    state = reach(Step.EFFORT)

    state, actions = answer(state, "5")

    assert only(actions, RecordEffort) == RecordEffort(score=5, raw="5")
    assert send_keys(actions) == ["thanks.promoter"]
    assert state.outcome is Outcome.COMPLETED


@pytest.mark.parametrize("text", ["0", "8", "soon"])
def test_effort_out_of_range_reasked(text: str) -> None:
    state = reach(Step.EFFORT)

    state, actions = answer(state, text)

    assert send_keys(actions) == ["effort.hint"]
    assert count(actions, RecordEffort) == 0
    assert state.step is Step.EFFORT


def test_effort_unreadable_still_completes() -> None:
    state = reach(Step.EFFORT)

    state, actions = answer(state, "soon", "soon", "soon")

    assert count(actions, RecordEffort) == 0
    assert send_keys(actions) == ["thanks.promoter"]
    assert state.outcome is Outcome.COMPLETED


# --- HELP -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "prompt"),
    [
        (Step.CONSENT, "consent.prompt"),
        (Step.SCORE, "score.prompt_0_10"),
        (Step.REASON, "reason.promoter"),
        (Step.EFFORT, "effort.prompt"),
    ],
    ids=["consent", "score", "reason", "effort"],
)
def test_help_resends_question(step: Step, prompt: str) -> None:
    state = reach(step)

    after, actions = answer(state, "HELP")

    assert send_keys(actions) == ["help.text", prompt]
    assert actions[0].text == rendered("help.text")
    assert after.step is step
    assert count(actions, ANSWER_RECORDS) == 0


def test_help_not_counted_as_reask() -> None:
    state = reach(Step.SCORE)

    state, _ = answer(state, "banana")
    state, _ = answer(state, "help")
    after_first_help = state.reasks
    state, _ = answer(state, "banana", "?", "ayuda")

    assert after_first_help == 1
    assert state.reasks == 2
    assert state.step is Step.SCORE


@pytest.mark.parametrize("word", ["?", "ayuda", "ヘルプ"])
def test_localized_help_word(word: str) -> None:
    state = reach(Step.SCORE)

    _, actions = answer(state, word)

    assert send_keys(actions) == ["help.text", "score.prompt_0_10"]


def test_help_after_done_silent() -> None:
    state = reach(Step.DONE)

    _, actions = answer(state, "help")

    assert actions == ()


# --- Language switch --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "name", "locale", "prompt"),
    [
        (Step.CONSENT, "español", "es", "consent.prompt"),
        (Step.SCORE, "日本語", "ja", "score.prompt_0_10"),
        (Step.REASON, "Deutsch", "de", "reason.promoter"),
        (Step.EFFORT, "العربية", "ar", "effort.prompt"),
    ],
    ids=["consent-es", "score-ja", "reason-de", "effort-ar"],
)
def test_language_name_switches(step: Step, name: str, locale: str, prompt: str) -> None:
    state = reach(step)

    after, actions = answer(state, name)

    assert actions[0] == SetLocale(locale, LocaleSource.EXPLICIT)
    assert send_keys(actions) == ["language.switched", prompt]
    assert actions[1].text == rendered("language.switched", locale)
    assert actions[2].locale == locale
    assert actions[2].text == rendered(prompt, locale)
    assert after.locale == locale
    assert after.locale_source is LocaleSource.EXPLICIT
    assert after.step is step
    assert count(actions, ANSWER_RECORDS) == 0


def test_switched_locale_used_later() -> None:
    state = reach(Step.SCORE)

    state, actions = answer(state, "español", "9")

    assert send_keys(actions) == ["reason.promoter"]
    assert actions[-1].locale == "es"
    assert actions[-1].text == rendered("reason.promoter", "es")


def test_consent_record_after_switch() -> None:
    state, _ = open_survey()

    _, actions = answer(state, "español", "sí")
    record = only(actions, RecordConsent)

    assert record.locale == "es"
    assert record.text_shown == rendered("consent.prompt", "es")
    assert record.catalog_version == get_catalog("es").version


# --- The 1-5 scale ----------------------------------------------------------------------


def test_five_point_prompt() -> None:
    _, actions = open_survey(FIVE_SPEC, consent_on_file=True)

    assert send_keys(actions) == ["score.prompt_1_5"]
    assert [b.payload for b in actions[0].buttons] == [f"nps:{v}" for v in range(1, 6)]


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (1, Category.DETRACTOR),
        (2, Category.DETRACTOR),
        (3, Category.PASSIVE),
        (4, Category.PASSIVE),
        (5, Category.PROMOTER),
    ],
    ids=["1", "2", "3", "4", "5"],
)
def test_five_point_accepts(score: int, category: Category) -> None:
    state, _ = open_survey(FIVE_SPEC, consent_on_file=True)

    state, actions = answer(state, str(score))
    record = only(actions, RecordScore)

    assert record.score == score
    assert record.scale is Scale.ONE_TO_FIVE
    assert record.scale == "1-5"
    assert record.category is category
    assert state.step is Step.REASON


@pytest.mark.parametrize("text", ["0", "6", "9/10"])
def test_five_point_rejects(text: str) -> None:
    state, _ = open_survey(FIVE_SPEC, consent_on_file=True)

    state, actions = answer(state, text)

    assert count(actions, RecordScore) == 0
    assert send_keys(actions) == ["score.hint_1_5"]
    assert state.step is Step.SCORE


def test_five_point_rejects_button_six() -> None:
    state, _ = open_survey(FIVE_SPEC, consent_on_file=True)

    state, actions = flows.step(state, reply("", payload="nps:6"))

    assert count(actions, RecordScore) == 0
    assert send_keys(actions) == ["score.hint_1_5"]


# --- Button payloads --------------------------------------------------------------------


def test_consent_yes_button() -> None:
    state, _ = open_survey()

    state, actions = flows.step(state, reply("", payload="consent:yes"))

    assert only(actions, RecordConsent).granted is True
    assert state.step is Step.SCORE


def test_consent_no_button() -> None:
    state, _ = open_survey()

    state, actions = flows.step(state, reply("No", payload="consent:no"))

    assert only(actions, RecordConsent).granted is False
    assert state.outcome is Outcome.DECLINED


def test_score_button() -> None:
    state = reach(Step.SCORE)

    state, actions = flows.step(state, reply("", payload="nps:9"))

    assert only(actions, RecordScore).score == 9
    assert only(actions, RecordScore).category is Category.PROMOTER
    assert state.step is Step.REASON


def test_score_button_held_before_consent() -> None:
    state, _ = open_survey()

    state, actions = flows.step(state, reply("", payload="nps:3"))

    assert count(actions, RecordScore) == 0
    assert state.pending_score == 3


def test_effort_button() -> None:
    state = reach(Step.EFFORT)

    state, actions = flows.step(state, reply("", payload="ces:5"))

    assert only(actions, RecordEffort).score == 5
    assert state.outcome is Outcome.COMPLETED


def test_skip_button() -> None:
    state = reach(Step.REASON, SPEC)

    state, actions = flows.step(state, reply("", payload="skip"))

    assert count(actions, RecordComment) == 0
    assert send_keys(actions) == ["thanks.promoter"]
    assert state.outcome is Outcome.COMPLETED


def test_skip_word() -> None:
    state = reach(Step.REASON, EFFORT_SPEC)

    state, actions = answer(state, "SKIP")

    assert count(actions, RecordComment) == 0
    assert send_keys(actions) == ["effort.prompt"]


# --- Serialisation ----------------------------------------------------------------------


def _held_state() -> flows.ConversationState:
    state, _ = open_survey()
    return answer(state, "9")[0]


STATES = {
    "consent": lambda: reach(Step.CONSENT),
    "held": _held_state,
    "reason": lambda: reach(Step.REASON),
    "effort": lambda: reach(Step.EFFORT),
    "done": lambda: reach(Step.DONE),
    "five-point": lambda: open_survey(FIVE_SPEC, locale="ja", consent_on_file=True)[0],
}


@pytest.mark.parametrize("make", list(STATES.values()), ids=list(STATES))
def test_state_round_trip(make: Any) -> None:
    state = make()

    stored = json.loads(json.dumps(state.to_dict()))

    assert flows.ConversationState.from_dict(stored) == state


def test_to_dict_plain_values() -> None:
    data = reach(Step.DONE).to_dict()

    assert data["deadline"] == "2024-05-09T09:00:00+00:00"
    assert data["survey"]["expiry"] == 259200.0
    assert data["locale_source"] == int(LocaleSource.EXPLICIT)
    assert data["step"] == "done"
    assert data["outcome"] == "completed"
    assert data["category"] == "promoter"
    assert data["score"] == 9


def _corrupt(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(reach(Step.REASON).to_dict())
    change(data)
    return data


CORRUPTIONS = {
    "empty": lambda d: d.clear(),
    "no-step": lambda d: d.pop("step"),
    "unknown-step": lambda d: d.update(step="paused"),
    "bad-deadline": lambda d: d.update(deadline="soon"),
    "bad-scale": lambda d: d["survey"].update(scale="0-100"),
    "bad-source": lambda d: d.update(locale_source="high"),
    "source-out-of-range": lambda d: d.update(locale_source=9),
    "bad-reasks": lambda d: d.update(reasks="many"),
    "no-survey": lambda d: d.update(survey=None),
    "survey-extra-field": lambda d: d["survey"].update(colour="red"),
    "survey-no-id": lambda d: d["survey"].pop("survey_id"),
    "bad-expiry": lambda d: d["survey"].update(expiry="long"),
    "bad-category": lambda d: d.update(category="fan"),
    "bad-outcome": lambda d: d.update(outcome="won"),
    "no-version": lambda d: d.pop("version"),
}


@pytest.mark.parametrize("change", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_from_dict_rejects_corrupt(change: Any) -> None:
    data = _corrupt(change)

    with pytest.raises(flows.StateError, match="cannot read conversation state"):
        flows.ConversationState.from_dict(data)


@pytest.mark.parametrize("data", [None, [], "state", 5], ids=["none", "list", "str", "int"])
def test_from_dict_rejects_non_dict(data: Any) -> None:
    with pytest.raises(flows.StateError):
        flows.ConversationState.from_dict(data)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(pending_score="nine"),
        lambda d: d.update(score="9"),
        lambda d: d.update(deadline="2024-05-09T09:00:00"),
        lambda d: d.update(locale="xx"),
    ],
    ids=["text-pending-score", "text-score", "naive-deadline", "unsupported-locale"],
)
def test_from_dict_rejects_bad_values(change: Any) -> None:
    data = _corrupt(change)

    with pytest.raises(flows.StateError):
        flows.ConversationState.from_dict(data)


def test_step_rejects_unknown_step() -> None:
    state = replace(reach(Step.SCORE), step="paused")

    with pytest.raises(flows.StateError, match="unknown conversation step 'paused'"):
        flows.step(state, reply("9"))


def test_version_bumps_each_step() -> None:
    state, _ = open_survey()

    after, _ = answer(state, "yes")

    assert state.version == 0
    assert after.version == 1


@pytest.mark.parametrize("text", ["skip", "omitir", "スキップ"])
def test_effort_can_be_skipped(text: str) -> None:
    state, actions = answer(reach(Step.EFFORT), text)

    assert state.outcome is Outcome.COMPLETED
    assert count(actions, (RecordEffort,)) == 0
    assert send_keys(actions) == ["thanks.promoter"]
