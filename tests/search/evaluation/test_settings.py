"""Evaluation settings: EvalOptions is generated from the records; bad names get the nearest."""

import re
from pathlib import Path
from typing import get_type_hints

import pytest

from search import EvalSettings, RetrySettings, SettingsError
from search.evaluation import Evaluator, bundled_dataset
from search.evaluation import settings as settings_module
from search.evaluation.settings import EvalOptions, option_fields, options_source, settings_from


def test_eval_options_is_the_generated_text_of_the_records_fields():
    text = Path(settings_module.__file__).read_text()
    body = re.search(r"class EvalOptions\(TypedDict.*?\"\"\"\n\n(.*?)\n\n\n# --- end", text, re.S)
    assert body is not None
    assert body.group(1) == options_source(), (
        "EvalSettings or RetrySettings changed: replace EvalOptions' fields in "
        f"search/evaluation/settings.py with\n{options_source()}"
    )
    assert get_type_hints(EvalOptions) == option_fields()
    assert set(option_fields()) == (
        set(EvalSettings.model_fields) - {"retry", "executor"} | set(RetrySettings.model_fields)
    )


def test_every_option_overrides_its_field():
    settings = settings_from(None, max_concurrency=3, call_timeout=None, max_retries=7)
    assert settings.max_concurrency == 3 and settings.call_timeout is None
    assert settings.retry.max_retries == 7


def test_a_misspelt_setting_names_the_nearest():
    with pytest.raises(
        SettingsError, match=r"'max_concurency' \(did you mean 'max_concurrency'\?\)"
    ):
        settings_from(None, max_concurency=3)
    with pytest.raises(SettingsError, match=r"'max_retires' \(did you mean 'max_retries'\?\)"):
        Evaluator(bundled_dataset(n=4), "numeric", max_retires=2)
