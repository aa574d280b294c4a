#!/usr/bin/env bash
# Set up and run the test suite on a fresh machine.
#   - creates .venv and installs requirements-dev.txt
#   - installs Chromium (Debian) and front-end packages (npm) when missing
#   - PostgreSQL: DATABASE_URL if set; else 127.0.0.1:5432 if a server answers there;
#     else a disposable server started from the installed PostgreSQL binaries (initdb/pg_ctl);
#     else it stops and says what to install. BPM_TEST_DISPOSABLE_PG=1 forces the disposable server.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not browser" -x).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

bash scripts/setup.sh --dev

# shellcheck disable=SC1091
. .venv/bin/activate

export SECRET_KEY=${SECRET_KEY:-test-secret-key}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15}

pg_answers() { python - "$1" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception:
    sys.exit(1)
PY
}

if [ -z "${DATABASE_URL:-}" ]; then
  # BPM_TEST_DISPOSABLE_PG=1 skips the local server and always starts a throwaway one.
  if [ "${BPM_TEST_DISPOSABLE_PG:-0}" != 1 ] && pg_answers "postgresql://postgres@127.0.0.1:5432/postgres"; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/bpm"
  else
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$PG_BIN" ] && command -v initdb >/dev/null; then PG_BIN=$(dirname "$(command -v initdb)"); fi
    if [ -z "$PG_BIN" ]; then
      echo "No PostgreSQL found. Set DATABASE_URL to a server, or install PostgreSQL's server binaries:" >&2
      echo "  Debian/Ubuntu: sudo apt-get install postgresql    macOS: brew install postgresql" >&2
      exit 2
    fi
    PGDATA="$ROOT/.pgdata"; PGPORT=${PGPORT:-54329}
    if [ ! -d "$PGDATA" ]; then
      RUN_AS=""; if [ "$(id -u)" = 0 ]; then RUN_AS="runuser -u nobody --"; mkdir -p "$PGDATA"; chown nobody "$PGDATA"; fi
      $RUN_AS "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust >/dev/null
    fi
    RUN_AS=""; if [ "$(id -u)" = 0 ]; then RUN_AS="runuser -u nobody --"; fi
    $RUN_AS "$PG_BIN/pg_ctl" -D "$PGDATA" -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1" -l "$PGDATA/server.log" -w start >/dev/null
    trap '$RUN_AS "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null' EXIT
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/bpm"
    echo "Started a disposable PostgreSQL in $PGDATA on port $PGPORT"
  fi
fi

python -m pytest "$@"
