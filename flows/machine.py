"""The NPS conversation as a pure state machine: ``step(state, event) -> (state, actions)``.

consent -> score -> reason -> optional effort (CES 1-7) -> thanks. At every step STOP opts
out, HELP explains, and a language name switches language. An unreadable answer is asked
again with a hint at most ``MAX_REASKS`` times, then the conversation ends politely. The
deadline travels in the state, so an old conversation expires on its next event.
"""

from __future__ import annotations

from datetime import datetime

from flows.answers import (
    CONSENT_NO_PAYLOAD,
    CONSENT_YES_PAYLOAD,
    EFFORT_PAYLOAD_PREFIX,
    SCORE_PAYLOAD_PREFIX,
    SKIP_PAYLOAD,
    Keyword,
    is_skip,
    parse_keyword,
    parse_language_choice,
    parse_number,
    parse_payload_number,
    parse_yes_no,
)
from flows.catalog import get_catalog
from flows.events import (
    Action,
    Event,
    Finish,
    OptOut,
    RecordComment,
    RecordConsent,
    RecordEffort,
    RecordScore,
    Reply,
    SetLocale,
    Tick,
)
from flows.language import LocaleSource, detect_language
from flows.prompts import (
    EFFORT_HIGH,
    EFFORT_LOW,
    consent_buttons,
    current_prompt,
    reason_key,
    render,
    score_hint_key,
)
from flows.scoring import categorize
from flows.state import ConversationState, Outcome, StateError, Step, SurveySpec

MAX_REASKS = 2

Transition = tuple[ConversationState, tuple[Action, ...]]


def start(
    survey: SurveySpec,
    *,
    locale: str,
    locale_source: LocaleSource,
    now: datetime,
    consent_on_file: bool = False,
    first_reply: Reply | None = None,
) -> Transition:
    """Open a conversation and return its first question.

    ``consent_on_file`` skips the consent question when the respondent already agreed to the
    current policy version of this survey's jurisdiction. ``first_reply`` is a message that
    arrived before the survey opened: STOP or a score in it is acted on at once (the score is
    held until consent), anything else is not treated as an answer.
    """
    state = ConversationState(
        survey=survey,
        step=Step.SCORE if consent_on_file else Step.CONSENT,
        locale=locale,
        locale_source=locale_source,
        deadline=now + survey.expiry,
    )
    if first_reply is not None and _acts_on_opening(state, first_reply):
        return step(state, first_reply)
    return state, _prompt(state)


def _acts_on_opening(state: ConversationState, reply: Reply) -> bool:
    if not reply.payload and parse_keyword(reply.text) is Keyword.STOP:
        return True
    return _read_score(state, reply) is not None


def step(state: ConversationState, event: Event) -> Transition:
    """Advance the conversation by one event."""
    if not isinstance(state.step, Step):
        raise StateError(f"unknown conversation step {state.step!r}")
    if isinstance(event, Tick):
        return _on_tick(state, event)
    return _on_reply(state, event)


def _on_tick(state: ConversationState, tick: Tick) -> Transition:
    if state.finished or tick.now <= state.deadline:
        return state, ()
    return _finish(state, Outcome.EXPIRED)


def _on_reply(state: ConversationState, reply: Reply) -> Transition:
    keyword = None if reply.payload else parse_keyword(reply.text)
    if keyword is Keyword.STOP:
        return _opt_out(state)
    if state.finished:
        return state, ()
    if reply.received_at > state.deadline:
        return _finish(state, Outcome.EXPIRED, "ended.expired")
    if keyword is Keyword.HELP:
        return _help(state)
    chosen = None if reply.payload else parse_language_choice(reply.text)
    if chosen is not None:
        return _switch_language(state, chosen)

    match state.step:
        case Step.CONSENT:
            return _on_consent(state, reply)
        case Step.SCORE:
            return _on_score(state, reply)
        case Step.REASON:
            return _on_reason(state, reply)
        case Step.EFFORT:
            return _on_effort(state, reply)
    raise StateError(f"unknown conversation step {state.step!r}")


def _on_consent(state: ConversationState, reply: Reply) -> Transition:
    if reply.payload in (CONSENT_YES_PAYLOAD, CONSENT_NO_PAYLOAD):
        decision: bool | None = reply.payload == CONSENT_YES_PAYLOAD
    else:
        decision = parse_yes_no(reply.text, locale=state.locale)

    if decision is None:
        early_score = _read_score(state, reply)
        if early_score is not None:
            # The full consent text follows, so the decision always refers to the notice.
            held = state.advance(pending_score=early_score,
                                 pending_raw=reply.text or reply.payload or "")
            catalog = get_catalog(state.locale)
            return held, (render("consent.score_held", held),
                          render("consent.prompt", held, consent_buttons(catalog)))
        return _reask(state, "consent.hint")

    record = _consent_record(state, granted=decision)
    if not decision:
        done, actions = _finish(state, Outcome.DECLINED, "consent.declined")
        return done, (record, *actions)
    if state.pending_score is not None:
        raw = state.pending_raw or str(state.pending_score)
        scored, actions = _accept_score(state, state.pending_score, raw)
        return scored, (record, *actions)
    asking = state.advance(step=Step.SCORE, reasks=0)
    return asking, (record, *_prompt(asking))


def _consent_record(state: ConversationState, *, granted: bool) -> RecordConsent:
    catalog = get_catalog(state.locale)
    shown = render("consent.prompt", state).text
    return RecordConsent(
        granted=granted,
        text_shown=shown,
        locale=state.locale,
        catalog_version=catalog.version,
        policy_version=state.survey.policy_version,
        jurisdiction=state.survey.jurisdiction,
    )


def _read_score(state: ConversationState, reply: Reply) -> int | None:
    scale = state.survey.scale
    from_button = parse_payload_number(
        reply.payload, SCORE_PAYLOAD_PREFIX, low=scale.low, high=scale.high
    )
    if from_button is not None:
        return from_button
    return parse_number(reply.text, low=scale.low, high=scale.high, locale=state.locale)


def _on_score(state: ConversationState, reply: Reply) -> Transition:
    score = _read_score(state, reply)
    if score is None:
        return _reask(state, score_hint_key(state.survey.scale))
    return _accept_score(state, score, reply.text or reply.payload or "")


def _accept_score(state: ConversationState, score: int, raw: str) -> Transition:
    category = categorize(score, state.survey.scale)
    asking = state.advance(
        step=Step.REASON, score=score, category=category, pending_score=None, pending_raw=None,
        reasks=0,
    )
    record = RecordScore(score=score, scale=state.survey.scale, category=category, raw=raw)
    return asking, (record, *_prompt(asking))


def _on_reason(state: ConversationState, reply: Reply) -> Transition:
    if reply.payload == SKIP_PAYLOAD or is_skip(reply.text, locale=state.locale):
        return _after_reason(state, ())
    comment = reply.text.strip()
    if not comment:
        return _reask(state, "reason.hint")

    language = detect_language(comment)
    actions: list[Action] = [RecordComment(text=comment, language=language)]
    if language and language != state.locale and state.locale_source < LocaleSource.TEXT:
        # The comment is a stronger signal than a phone country or the survey default.
        state = state.advance(locale=language, locale_source=LocaleSource.TEXT)
        actions.append(SetLocale(language, LocaleSource.TEXT))
    next_state, rest = _after_reason(state, ())
    return next_state, (*actions, *rest)


def _after_reason(state: ConversationState, actions: tuple[Action, ...]) -> Transition:
    if state.survey.ask_effort:
        asking = state.advance(step=Step.EFFORT, reasks=0)
        return asking, (*actions, *_prompt(asking))
    done, finish = _finish(state, Outcome.COMPLETED, _thanks_key(state))
    return done, (*actions, *finish)


def _on_effort(state: ConversationState, reply: Reply) -> Transition:
    if reply.payload == SKIP_PAYLOAD or is_skip(reply.text, locale=state.locale):
        # The effort score is optional: skipping it still completes the survey.
        return _finish(state, Outcome.COMPLETED, _thanks_key(state))
    effort = parse_payload_number(
        reply.payload, EFFORT_PAYLOAD_PREFIX, low=EFFORT_LOW, high=EFFORT_HIGH
    )
    if effort is None:
        effort = parse_number(reply.text, low=EFFORT_LOW, high=EFFORT_HIGH, locale=state.locale)
    if effort is None:
        if state.reasks >= MAX_REASKS:
            # The NPS answer is already stored, so end with the usual thanks.
            return _finish(state, Outcome.COMPLETED, _thanks_key(state))
        return _reask(state, "effort.hint")
    done, finish = _finish(state, Outcome.COMPLETED, _thanks_key(state))
    return done, (RecordEffort(score=effort, raw=reply.text or reply.payload or ""), *finish)


def _thanks_key(state: ConversationState) -> str:
    return reason_key(state.category).replace("reason.", "thanks.", 1)


def _reask(state: ConversationState, hint_key: str) -> Transition:
    if state.reasks >= MAX_REASKS:
        return _finish(state, Outcome.UNREADABLE, "ended.unreadable")
    retry = state.advance(reasks=state.reasks + 1)
    prompt = current_prompt(retry)
    buttons = prompt.buttons if prompt else ()
    return retry, (render(hint_key, retry, buttons),)


def _help(state: ConversationState) -> Transition:
    helped = state.advance()
    return helped, (render("help.text", helped), *_prompt(helped))


def _switch_language(state: ConversationState, locale: str) -> Transition:
    switched = state.advance(locale=locale, locale_source=LocaleSource.EXPLICIT)
    return switched, (
        SetLocale(locale, LocaleSource.EXPLICIT),
        render("language.switched", switched),
        *_prompt(switched),
    )


def _opt_out(state: ConversationState) -> Transition:
    done = state.advance(step=Step.DONE, outcome=Outcome.OPTED_OUT, pending_score=None,
                         pending_raw=None)
    return done, (OptOut(), render("stop.confirm", done), Finish(Outcome.OPTED_OUT))


def _finish(
    state: ConversationState, outcome: Outcome, message_key: str | None = None
) -> Transition:
    # A score held for consent is dropped with the conversation: it was never agreed to.
    done = state.advance(step=Step.DONE, outcome=outcome, pending_score=None, pending_raw=None)
    actions: list[Action] = []
    if message_key:
        actions.append(render(message_key, done))
    actions.append(Finish(outcome))
    return done, tuple(actions)


def _prompt(state: ConversationState) -> tuple[Action, ...]:
    prompt = current_prompt(state)
    return (prompt,) if prompt else ()
