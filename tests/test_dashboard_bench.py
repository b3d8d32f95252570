"""`dutyline bench dashboard` runs end to end on a small seed (CI's smoke test)."""
from __future__ import annotations

import json

from click.testing import CliRunner


def test_bench_dashboard_reports_every_page_in_json(env):
    from cli.main import main

    result = CliRunner().invoke(main, ["bench", "dashboard", "--calls", "600", "--repeat", "2",
                                       "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["calls"] == 600 and report["backend"] == "sqlite"
    pages = report["pages"]
    assert set(pages) == {"inbox", "inbox_page_3", "search_text", "search_phone",
                          "search_name_open", "search_phone_last4", "search_one_char",
                          "search_two_chars_rare"}
    assert pages["inbox_page_3"]["rows"] == 50
    assert pages["search_text"]["rows"] >= 1  # the needle phrase is seeded
    assert pages["search_one_char"]["rows"] == 50  # a common character fills a page
    assert all(p["median_ms"] > 0 for p in pages.values())
    assert report["database_mib"] > 0 and len(report["load_average"]) == 3
