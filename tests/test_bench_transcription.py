"""`dutyline bench transcription` on tiny inputs: CI checks that it produces numbers only.
The targets are in docs/scaling.md; speed is never asserted."""
from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from cli.bench_transcription import tree_pss_kib


def _numbers(report: dict, keys) -> None:
    for key in keys:
        value = report[key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, key


@pytest.mark.slow
def test_bench_prints_throughput_ratios_and_latency(settings):
    from cli.main import main

    result = CliRunner().invoke(main, ["bench", "transcription", "--clips", "2", "--seconds", "2",
                                       "--latency-seconds", "3", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    _numbers(report, ["raw_1p_audio_s_per_s", "raw_2p_audio_s_per_s",
                      "pipeline_1w_audio_s_per_s", "pipeline_2w_audio_s_per_s",
                      "raw_2p_over_1p", "pipeline_2w_over_1w", "pipeline_1w_over_raw_1p",
                      "pipeline_2w_over_raw_2p", "latency_raw_decode_s",
                      "latency_callback_to_draft_s"])


@pytest.mark.slow
def test_bench_memory_mode_prints_pss(settings):
    from cli.main import main

    result = CliRunner().invoke(main, ["bench", "transcription", "--memory", "--clips", "1",
                                       "--seconds", "2", "--memory-jobs", "12", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    _numbers(report, ["pss_decoding_1w_mib", "pss_decoding_2w_mib", "pss_2w_over_1w",
                      "pss_after_warmup_mib", "pss_after_12_jobs_mib"])
    assert math.isfinite(report["pss_growth_mib"])


def test_tree_pss_counts_this_process():
    import os

    assert tree_pss_kib(os.getpid()) > 0
