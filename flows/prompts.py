"""Rendering the question of each step, with its buttons, in the respondent's locale."""

from __future__ import annotations

from flows.answers import (
    CONSENT_NO_PAYLOAD,
    CONSENT_YES_PAYLOAD,
    EFFORT_PAYLOAD_PREFIX,
    SCORE_PAYLOAD_PREFIX,
    SKIP_PAYLOAD,
)
from flows.catalog import Catalog, get_catalog
from flows.events import Button, Send
from flows.scoring import Category, Scale
from flows.state import ConversationState, Step, SurveySpec

EFFORT_LOW, EFFORT_HIGH = 1, 7


def render(key: str, state: ConversationState, buttons: tuple[Button, ...] = ()) -> Send:
    """Render catalog entry ``key`` in the state's locale, with the survey's placeholders."""
    catalog = get_catalog(state.locale)
    return Send(
        key=key,
        text=catalog.text(key, **placeholders(state.survey)),
        locale=state.locale,
        buttons=buttons,
    )


def notice(key: str, *, locale: str, survey: SurveySpec) -> Send:
    """Render a message outside any conversation, such as the opt-out confirmation."""
    text = get_catalog(locale).text(key, **placeholders(survey))
    return Send(key=key, text=text, locale=locale)


def placeholders(survey: SurveySpec) -> dict[str, str]:
    return {"product": survey.product, "policy_url": survey.policy_url}


def consent_buttons(catalog: Catalog) -> tuple[Button, ...]:
    return (
        Button(catalog.text("button.yes"), CONSENT_YES_PAYLOAD),
        Button(catalog.text("button.no"), CONSENT_NO_PAYLOAD),
    )


def score_buttons(scale: Scale) -> tuple[Button, ...]:
    return tuple(
        Button(str(value), f"{SCORE_PAYLOAD_PREFIX}{value}")
        for value in range(scale.low, scale.high + 1)
    )


def effort_buttons() -> tuple[Button, ...]:
    return tuple(
        Button(str(value), f"{EFFORT_PAYLOAD_PREFIX}{value}")
        for value in range(EFFORT_LOW, EFFORT_HIGH + 1)
    )


def reason_key(category: Category | None) -> str:
    return f"reason.{(category or Category.PASSIVE).value}"


def score_prompt_key(scale: Scale) -> str:
    return "score.prompt_0_10" if scale is Scale.ZERO_TO_TEN else "score.prompt_1_5"


def score_hint_key(scale: Scale) -> str:
    return "score.hint_0_10" if scale is Scale.ZERO_TO_TEN else "score.hint_1_5"


def current_prompt(state: ConversationState) -> Send | None:
    """Return the question the respondent is expected to answer now; None once finished."""
    catalog = get_catalog(state.locale)
    match state.step:
        case Step.CONSENT:
            return render("consent.prompt", state, consent_buttons(catalog))
        case Step.SCORE:
            return render(score_prompt_key(state.survey.scale), state,
                          score_buttons(state.survey.scale))
        case Step.REASON:
            skip = (Button(catalog.text("button.skip"), SKIP_PAYLOAD),)
            return render(reason_key(state.category), state, skip)
        case Step.EFFORT:
            skip = (Button(catalog.text("button.skip"), SKIP_PAYLOAD),)
            return render("effort.prompt", state, (*effort_buttons(), *skip))
        case Step.DONE:
            return None
