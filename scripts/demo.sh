#!/usr/bin/env bash
# Set up and run the demo on a fresh machine: SQLite, background work in-process,
# demo users and processes loaded. Needs only Python 3.11+ (and npm for the diagram viewer).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
# the demo's settings (scripts/demo.env; manage.py uses them too when nothing is configured)
while IFS='=' read -r name value; do
  case "$name" in ''|\#*) continue ;; esac
  [ -n "${!name:-}" ] || export "$name=$value"
done < scripts/demo.env
export DATABASE_URL=${DATABASE_URL:-sqlite:///$(pwd)/db.sqlite3}
python manage.py migrate --noinput
python manage.py load_demo
ADDR=${ADDR:-127.0.0.1:8000}
# Background work in-process: timers fire from this loop (production runs Celery worker and beat).
python manage.py run_jobs --loop &
JOBS_PID=$!
trap 'kill $JOBS_PID 2>/dev/null' EXIT
echo "Open http://$ADDR/ and log in with one of the accounts above."
python manage.py runserver "$ADDR"
