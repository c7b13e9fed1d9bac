"""``surveys.toml``: surveys, markets, consent policies and Slack routing, validated at start.

Errors name the file, the key and, where it can be found, the line, for example
``surveys.toml: surveys[0].scale (line 12): Input should be '0-10' or '1-5'``.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.slack.config import SlackConfig
from flows import Scale, SurveySpec
from flows.catalog import SUPPORTED_LOCALES


class SurveysFileError(ValueError):
    """``surveys.toml`` cannot be read or does not validate."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsentPolicy(_Strict):
    """The privacy notice of one jurisdiction and the countries it covers."""

    url: str
    version: str
    countries: list[str] = Field(default_factory=list)

    @field_validator("countries")
    @classmethod
    def _upper_countries(cls, countries: list[str]) -> list[str]:
        return [_country_code(code) for code in countries]


class SurveyConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    product: str
    scale: Scale = Scale.ZERO_TO_TEN
    scale_by_country: dict[str, Scale] = Field(default_factory=dict)
    ask_effort: bool = False
    touchpoint: str = "relationship"
    default_locale: str = "en"
    expiry_hours: float = Field(default=72, gt=0)

    @field_validator("default_locale")
    @classmethod
    def _supported_locale(cls, locale: str) -> str:
        if locale not in SUPPORTED_LOCALES:
            raise ValueError(f"{locale!r} is not one of {', '.join(SUPPORTED_LOCALES)}")
        return locale

    @field_validator("scale_by_country")
    @classmethod
    def _upper_keys(cls, scales: dict[str, Scale]) -> dict[str, Scale]:
        return {_country_code(code): scale for code, scale in scales.items()}

    def scale_for(self, country: str | None) -> Scale:
        return self.scale_by_country.get((country or "").upper(), self.scale)


DEFAULT_REGIONS: dict[str, list[str]] = {
    "AMER": ["US", "CA"],
    "LATAM": ["MX", "BR", "AR", "CL", "CO", "PE", "UY", "EC", "GT", "CR"],
    "EMEA": ["GB", "IE", "DE", "FR", "ES", "PT", "IT", "NL", "BE", "AT", "CH", "SE", "NO", "DK",
             "FI", "PL", "CZ", "TR", "AE", "SA", "EG", "MA", "ZA", "NG", "KE", "IL"],
    "APAC": ["JP", "CN", "KR", "IN", "ID", "SG", "AU", "NZ", "MY", "TH", "VN", "PH", "HK", "TW"],
}

_EU_EEA_UK = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
              "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS",
              "LI", "NO", "GB"]


def _default_consent() -> dict[str, ConsentPolicy]:
    notice = "https://example.com/privacy"
    return {
        "gdpr": ConsentPolicy(url=notice, version="2026-01", countries=_EU_EEA_UK),
        "ccpa": ConsentPolicy(url=notice, version="2026-01", countries=["US"]),
        "lgpd": ConsentPolicy(url=notice, version="2026-01", countries=["BR"]),
        "pipl": ConsentPolicy(url=notice, version="2026-01", countries=["CN"]),
        "default": ConsentPolicy(url=notice, version="2026-01"),
    }


def _default_surveys() -> list[SurveyConfig]:
    return [SurveyConfig(id="relationship", product="Acme Security", ask_effort=False)]


class SurveysFile(_Strict):
    surveys: list[SurveyConfig] = Field(default_factory=_default_surveys, min_length=1)
    consent: dict[str, ConsentPolicy] = Field(default_factory=_default_consent)
    regions: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_REGIONS))
    slack: SlackConfig = Field(default_factory=SlackConfig)
    # Surveys one respondent may be sent in 91 days, across all surveys.
    fatigue_cap_per_quarter: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _check(self) -> SurveysFile:
        if "default" not in self.consent:
            raise ValueError("consent.default is missing: every country needs a fallback policy")
        ids = [survey.id for survey in self.surveys]
        duplicates = sorted({survey_id for survey_id in ids if ids.count(survey_id) > 1})
        if duplicates:
            raise ValueError(f"survey ids must be unique; repeated: {', '.join(duplicates)}")
        return self

    def survey(self, survey_id: str | None = None) -> SurveyConfig:
        """Return the survey ``survey_id``, or the first one when it is None."""
        if survey_id is None:
            return self.surveys[0]
        for survey in self.surveys:
            if survey.id == survey_id:
                return survey
        known = ", ".join(survey.id for survey in self.surveys)
        raise SurveysFileError(f"no survey {survey_id!r} in the configuration; known: {known}")

    def region_for(self, country: str | None) -> str | None:
        code = (country or "").upper()
        for region, countries in self.regions.items():
            if code in countries:
                return region
        return None

    def jurisdiction_for(self, country: str | None) -> tuple[str, ConsentPolicy]:
        code = (country or "").upper()
        for name, policy in self.consent.items():
            if code and code in policy.countries:
                return name, policy
        return "default", self.consent["default"]

    def spec_for(self, survey_id: str | None, *, country: str | None) -> SurveySpec:
        """Build what the conversation needs for one respondent's market."""
        survey = self.survey(survey_id)
        jurisdiction, policy = self.jurisdiction_for(country)
        return SurveySpec(
            survey_id=survey.id,
            product=survey.product,
            scale=survey.scale_for(country),
            ask_effort=survey.ask_effort,
            policy_url=policy.url,
            policy_version=policy.version,
            jurisdiction=jurisdiction,
            expiry=timedelta(hours=survey.expiry_hours),
        )


def _country_code(code: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", code):
        raise ValueError(f"{code!r} is not a two-letter ISO 3166 country code")
    return code.upper()


def load_surveys(path: Path) -> SurveysFile:
    """Read and validate ``path``; the built-in demo configuration if the file does not exist."""
    if not path.exists():
        return SurveysFile()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SurveysFileError(f"{path}: cannot read it as UTF-8 text: {error}") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SurveysFileError(f"{path}: invalid TOML: {error}") from error
    try:
        return SurveysFile.model_validate(data)
    except ValidationError as error:
        problems = [_describe(problem, text) for problem in error.errors()]
        raise SurveysFileError(f"{path}: " + "; ".join(problems)) from error


def _describe(problem: Any, text: str) -> str:
    location = tuple(problem["loc"])
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
    key = key.lstrip(".") or "(top level)"
    line = _line_of(text, location)
    where = f" (line {line})" if line else ""
    return f"{key}{where}: {problem['msg']}"


def _line_of(text: str, location: tuple[Any, ...]) -> int | None:
    """Find the line that defines ``location``, by scanning for its tables and keys.

    NOTE: this reads the file line by line rather than parsing it again, so a key written as
    an inline table or a dotted key on one line is found only by its last name.
    """
    lines = text.splitlines()
    start = 0
    found: int | None = None
    path: list[str] = []
    for index, part in enumerate(location):
        if isinstance(part, int):
            header = re.compile(rf"^\s*\[\[\s*{re.escape('.'.join(path))}\s*\]\]")
            hits = [number for number, line in enumerate(lines) if header.match(line)]
            if part < len(hits):
                start = found = hits[part]
            continue
        path.append(str(part))
        if index == len(location) - 1 or not isinstance(location[index + 1], int):
            pattern = re.compile(
                rf"^\s*(?:{re.escape(str(part))}\s*=|\[\s*{re.escape('.'.join(path))}\s*\])"
            )
            for number in range(start, len(lines)):
                if pattern.match(lines[number]):
                    start = found = number
                    break
    return None if found is None else found + 1
