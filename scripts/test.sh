#!/usr/bin/env bash
# Install what the tests need and run the whole suite: on SQLite, then the date-dealing suites
# again with the clock a year ahead (faketime), then (when TEST_DATABASE_URL names a PostgreSQL
# server) the suite again on PostgreSQL. Prints each pass's duration and the whole run's.
# System packages the tests use: espeak-ng (speech), sox (audio), chromium (browser tests),
# fonts-wqy-microhei (the CJK font embedded in contact cards and used by screenshots),
# faketime (the shifted-clock pass); npm fetches axe-core once (tests/axe_support.py).
#
# Arguments go to every pytest pass (for example a test file, or -x). The shifted-clock pass
# runs only on a whole-suite run (no arguments), as in CI.
# TEST_WORKERS sets pytest-xdist's worker count (default: auto, one per core; 0 runs in one
# process). Every worker has its own redis-server and database (tests/conftest.py).
set -uo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
if ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null || ! command -v chromium >/dev/null \
   || ! command -v faketime >/dev/null || [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || exit 1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq espeak-ng sox chromium fonts-wqy-microhei \
    faketime >/dev/null || exit 1
fi
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv || exit 1
.venv/bin/python -m pip install --quiet --upgrade pip || exit 1
.venv/bin/python -m pip install --quiet -e '.[test]' || exit 1
# axe-core (npm) for the browser census's accessibility check, fetched once into ~/.cache.
.venv/bin/python tests/axe_support.py >/dev/null || exit 1

# --dist loadgroup: tests marked xdist_group("processes") (real service processes killed,
# frozen and timed) run one after another on one worker; everything else is shared out.
# --durations: the slowest tests of each pass, so the next person sees where the run's time goes.
pytest=(.venv/bin/python -m pytest -q -p no:cacheprovider -n "${TEST_WORKERS:-auto}" --dist loadgroup
        --durations=15)
# The suites that deal with dates and run in the test process (faketime shifts the clock of
# the processes it starts, but the PostgreSQL server's clock stays, so this pass is SQLite).
DATE_SUITES=(deadlines holidays provisional_deadlines sweep schedule reports report_cli report_files
             weekly contacts case_rules cases commendations history notifications inbound_sms duty
             ivr_voice ivr_retention api dashboard_calendar dashboard_casework dashboard_duty
             dashboard_reports dashboard_directory dashboard_inbox dashboard_call)

status=0
summary=()
# Run one pass; any non-zero pytest exit fails the run, including 5 ("no tests ran": a
# filter or path that selects nothing must not pass as green).
run_pass() {
  local name=$1; shift
  local begun=$SECONDS code=0
  echo "== $name"
  "$@" || code=$?
  [ "$code" -eq 5 ] && echo "!! $name: pytest collected no tests (exit 5)"
  [ "$code" -ne 0 ] && status=1
  summary+=("$(printf '%-58s %4ds  exit %d' "$name" $((SECONDS - begun)) "$code")")
}

run_pass "test suite on SQLite" env -u TEST_DATABASE_URL "${pytest[@]}" "$@"
if [ $# -eq 0 ]; then
  # Issue 23: a test that mixes the real clock with a fixed date passes today and fails on
  # some later day. A year ahead, such a test fails the day it is written.
  shifted=()
  for name in "${DATE_SUITES[@]}"; do shifted+=("tests/test_${name}.py"); done
  # In one process (-n 0): libfaketime's shared clock state can hang xdist workers started
  # side by side. A timed wait on a thread lock can also outlast a shifted clock, so the pass
  # is bounded: faulthandler prints where a test hung, timeout ends it as a failure.
  run_pass "date suites on SQLite with the clock a year ahead" env -u TEST_DATABASE_URL \
    timeout -k 30 1200 faketime -f '+365d' "${pytest[@]}" -n 0 -o faulthandler_timeout=180 \
    -m "not browser and not e2e" "${shifted[@]}"
fi
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  # Suites that read or write no database (decoding, audio, extraction, the catalogue, the
  # transcription bench) ran above already; a second pass would only repeat them.
  skip=()
  for name in engine audio extraction download deadlines eval bench_transcription dashboard_i18n; do
    skip+=("--ignore=tests/test_${name}.py")
  done
  run_pass "test suite on PostgreSQL ($TEST_DATABASE_URL), without the browser and e2e tests" \
    "${pytest[@]}" -m "not browser and not e2e" "${skip[@]}" "$@"
fi
echo "== durations"
printf '%s\n' "${summary[@]}"
elapsed=$((SECONDS - started))
printf 'whole run: %dm%02ds (exit %d)\n' $((elapsed / 60)) $((elapsed % 60)) "$status"
exit $status
