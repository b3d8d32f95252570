"""`dutyline bench ivr` runs end to end (CI-sized): the figures come out, nothing more."""
import pytest

pytestmark = pytest.mark.slow


def test_bench_ivr_prints_figures_for_both_servers():
    from cli.bench_ivr import benchmark

    report = benchmark(seconds=1.0, levels=(4,), workers=1, threads=4, warmup=0.3)

    level = report["levels"][0]
    for target in ("dutyline", "minimal"):
        assert level[target]["requests"] > 0
        assert level[target]["rps"] > 0
        assert 0 < level[target]["p50_ms"] <= level[target]["p99_ms"]
    assert level["ratio"] > 0
