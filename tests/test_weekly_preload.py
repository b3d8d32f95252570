"""The web process loads jieba's dictionary when it starts, not on the first weekly analysis
(issue 19 item 16); measured by scripts/first_weekly_load.py."""
from __future__ import annotations

from intake.reports import weekly


def test_the_web_app_loads_the_dictionary_before_its_first_request(settings):
    from dashboard.app import create_app

    weekly._segmenter.cache_clear()
    create_app({"DUTYLINE_SETTINGS": settings})
    assert weekly._segmenter.cache_info().currsize == 1


def test_the_tests_apps_do_not(settings):
    from dashboard.app import create_app

    weekly._segmenter.cache_clear()
    create_app({"DUTYLINE_SETTINGS": settings, "TESTING": True})
    assert weekly._segmenter.cache_info().currsize == 0
