#!/usr/bin/env bash
# Install dutyline with its test extra into .venv and run the whole suite:
# on SQLite, then (when TEST_DATABASE_URL names a PostgreSQL server) again on PostgreSQL.
# System packages the tests use: espeak-ng, sox, chromium (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

status=0
echo "== test suite on SQLite"
env -u TEST_DATABASE_URL .venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== test suite on PostgreSQL ($TEST_DATABASE_URL), without the browser and e2e tests"
  .venv/bin/python -m pytest -q -p no:cacheprovider -m "not browser and not e2e" "$@" || status=$?
fi
exit $status
