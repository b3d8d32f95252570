#!/usr/bin/env bash
# Install what the tests need and run the whole suite: on SQLite, then (when
# TEST_DATABASE_URL names a PostgreSQL server) again on PostgreSQL.
# System packages the tests use: espeak-ng (speech), sox (audio), chromium (browser tests),
# fonts-wqy-microhei (the CJK font embedded in contact cards and used by screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null || ! command -v chromium >/dev/null \
   || [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq espeak-ng sox chromium fonts-wqy-microhei >/dev/null
fi
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

status=0
echo "== test suite on SQLite"
env -u TEST_DATABASE_URL .venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== test suite on PostgreSQL ($TEST_DATABASE_URL), without the browser and e2e tests"
  # Suites that read or write no database (decoding, audio, extraction, the catalogue, the
  # transcription bench) ran above already; a second pass would only repeat them.
  skip=()
  for name in engine audio extraction download deadlines eval bench_transcription dashboard_i18n; do
    skip+=("--ignore=tests/test_${name}.py")
  done
  .venv/bin/python -m pytest -q -p no:cacheprovider -m "not browser and not e2e" "${skip[@]}" "$@" \
    || status=$?
fi
exit $status
