# Everyday targets. The README's two commands are scripts/demo.sh and scripts/test.sh.
.PHONY: setup run demo worker beat test test-fast lint format check schema bench bench-api bench-dashboards bench-scripts bench-loops bench-external bench-retention bench-migration bench-scale

setup:            ## create .venv, install requirements and front-end packages
	bash scripts/setup.sh --dev

run demo:         ## the demo on SQLite with background work in-process
	bash scripts/demo.sh

worker:           ## a Celery worker (production-like; needs CELERY_BROKER_URL)
	.venv/bin/celery -A bpm worker -l info

beat:             ## Celery beat (timers and periodic sweeps)
	.venv/bin/celery -A bpm beat -l info

test:             ## the whole suite on PostgreSQL, browser tests included
	bash scripts/test.sh

test-fast:        ## skip the slow and browser tests
	bash scripts/test.sh -m "not slow and not browser"

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports

format:
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

check:            ## migrations and deployment checks
	SECRET_KEY=check .venv/bin/python manage.py makemigrations --check --dry-run
	SECRET_KEY=check-$$(date +%s)-a-long-enough-random-looking-secret-key-for-the-check DEBUG=false .venv/bin/python manage.py check --deploy

schema:           ## regenerate docs/openapi.yaml on PostgreSQL and docs/engine-rest.yaml, as the tests do (integer ranges depend on the backend)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bpm} SECRET_KEY=schema \
	  .venv/bin/python manage.py spectacular --file docs/openapi.yaml --validate
	SECRET_KEY=schema .venv/bin/python manage.py engine_rest_schema

bench:            ## engine throughput vs bare SpiffWorkflow (DATABASE_URL, default bpm_bench on 127.0.0.1)
	.venv/bin/python bench/engine.py

bench-api:        ## REST API latency under load through gunicorn (DATABASE_URL, default bpm_bench_http)
	.venv/bin/python bench/api_http.py

bench-external:   ## external-task workers: delivery latency, waiting workers per web node (DATABASE_URL, default bpm_bench_ext)
	.venv/bin/python bench/external_tasks.py

bench-retention:  ## history clean-up of 1,000,000 rows and the latency beside it (DATABASE_URL, default bpm_bench_retention)
	.venv/bin/python bench/retention.py

bench-migration:  ## 10,000 instances migrated as a batch and the API's latency beside it (DATABASE_URL, default bpm_bench_migration)
	.venv/bin/python bench/migration.py

bench-scale:      ## one node against two (gunicorn + Celery each, pinned to a core), nothing done twice (DATABASE_URL, default bpm_bench_scale)
	.venv/bin/python bench/scale_out.py --pin

bench-dashboards: ## dashboard pages over 100,000 instances (DATABASE_URL, default bpm_bench_dash)
	.venv/bin/python bench/dashboards.py

bench-scripts:    ## what the script sandbox costs per call (no database)
	.venv/bin/python bench/scripts.py

bench-loops:      ## a step's cost at loop iteration 10 vs 5,000 (no database)
	.venv/bin/python bench/loops.py
