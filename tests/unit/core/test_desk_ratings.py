"""Rating tallies and the scale the SDKs are told to draw (wire spec §4.3, §13.2)."""

from __future__ import annotations

from tidings.core.desk_models import RATING_MAX, RATING_TEXTS
from tidings.core.desk_ratings import RatingStats
from tidings.gateways.servicedesk.mapping import rating_settings


def test_stats_give_count_mean_and_every_value_of_the_scale() -> None:
    stats = RatingStats.of({5: 2, 4: 1, 1: 1})
    assert stats.count == 4
    assert stats.average == 3.75
    assert stats.distribution == {1: 1, 2: 0, 3: 0, 4: 1, 5: 2}


def test_no_ratings_have_no_mean() -> None:
    stats = RatingStats.of({})
    assert stats.count == 0 and stats.average is None
    assert set(stats.distribution) == set(range(1, RATING_MAX + 1))
    assert set(stats.distribution.values()) == {0}


def test_the_sdks_scale_is_the_one_the_core_accepts() -> None:
    """§4.3: ``size`` is 2, 3 or 5, ``type`` 1 (emoji); every value has its text."""
    settings = rating_settings()
    assert settings["size"] == RATING_MAX == 5 and settings["type"] == 1
    values = [v["rating"] for v in settings["rating_text_values"]]
    assert values == list(range(1, RATING_MAX + 1))
    assert [v["text"] for v in settings["rating_text_values"]] == list(RATING_TEXTS.values())
