"""surveys.toml: defaults, markets, and errors that name the key and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.surveys import SurveysFileError, load_surveys
from flows import Scale

EXAMPLE = Path(__file__).parents[2] / "surveys.example.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "surveys.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_absent_file_gives_demo_survey(tmp_path: Path) -> None:
    surveys = load_surveys(tmp_path / "missing.toml")

    assert surveys.survey().id == "relationship"
    assert surveys.survey().product == "Acme Security"


def test_example_file_loads() -> None:
    surveys = load_surveys(EXAMPLE)

    assert surveys.survey().scale_for("JP") is Scale.ONE_TO_FIVE
    assert surveys.slack.channel_for("APAC") == "#cx-apac"
    assert surveys.jurisdiction_for("DE")[0] == "gdpr"
    assert surveys.jurisdiction_for("BR")[0] == "lgpd"
    assert surveys.jurisdiction_for("CN")[0] == "pipl"
    assert surveys.jurisdiction_for("US")[0] == "ccpa"
    assert surveys.jurisdiction_for("ZA")[0] == "default"


def test_market_scale_reaches_spec(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[surveys]]\nid = "onboarding"\nproduct = "Acme"\n'
                            '[surveys.scale_by_country]\njp = "1-5"\n')
    spec = load_surveys(path).spec_for("onboarding", country="JP")

    assert spec.scale is Scale.ONE_TO_FIVE
    assert spec.jurisdiction == "default"


def test_bad_value_names_key_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[surveys]]\nid = "a"\nproduct = "Acme"\n\n'
                            '[[surveys]]\nid = "b"\nproduct = "Acme"\nscale = "0-100"\n')
    with pytest.raises(SurveysFileError) as raised:
        load_surveys(path)

    assert str(raised.value).startswith(f"{path}: surveys[1].scale (line 8): Input should be")


def test_missing_key_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[surveys]]\nid = "a"\n')
    with pytest.raises(SurveysFileError, match=r"surveys\[0\]\.product \(line 1\): Field required"):
        load_surveys(path)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, '[slack]\ndefault_channel = "#cx"\nroutez = {}\n')
    with pytest.raises(SurveysFileError, match=r"slack\.routez \(line 3\): Extra inputs"):
        load_surveys(path)


def test_invalid_toml_gives_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[surveys]]\nid = "a\n')
    with pytest.raises(SurveysFileError, match=r"invalid TOML: .*line 2"):
        load_surveys(path)


def test_bad_locale_and_country(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[surveys]]\nid = "a"\nproduct = "P"\ndefault_locale = "it"\n'
                            '[surveys.scale_by_country]\nBRA = "1-5"\n')
    with pytest.raises(SurveysFileError) as raised:
        load_surveys(path)

    message = str(raised.value)
    assert "surveys[0].default_locale (line 4): Value error, 'it' is not one of en, es" in message
    assert "'BRA' is not a two-letter ISO 3166 country code" in message


def test_duplicate_survey_ids(tmp_path: Path) -> None:
    text = '[[surveys]]\nid = "a"\nproduct = "P"\n[[surveys]]\nid = "a"\nproduct = "Q"\n'
    path = _write(tmp_path, text)
    with pytest.raises(SurveysFileError, match="survey ids must be unique; repeated: a"):
        load_surveys(path)
