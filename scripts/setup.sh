#!/usr/bin/env bash
# Create .venv and install the pinned requirements; --dev adds test tools, Chromium and npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
REQ=requirements.txt
if [ "${1:-}" = "--dev" ]; then REQ=requirements-dev.txt; fi
STAMP=".venv/.installed-$(sha256sum requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)-$REQ"
if [ ! -f "$STAMP" ]; then
  python -m pip install -q --upgrade pip
  python -m pip install -q -r "$REQ"
  touch "$STAMP"
fi
# Front-end packages (bpmn-js viewer and modeler, Chart.js, form-js viewer, Swagger UI) come from npm and are served as
# static files: no CDN at run time.
if [ ! -f static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js ] || [ ! -f static/vendor/chart.js/chart.umd.min.js ] \
  || [ ! -f static/vendor/form-js/form-viewer.umd.js ] || [ ! -f static/vendor/form-js/form-editor.umd.js ] || [ ! -f static/vendor/swagger-ui/swagger-ui-bundle.js ] \
  || [ ! -f static/vendor/modeler/modeler.js ] || [ static/src/modeler.js -nt static/vendor/modeler/modeler.js ] \
  || [ ! -f static/vendor/modeler/dmn-modeler.js ] || [ static/src/dmn-modeler.js -nt static/vendor/modeler/dmn-modeler.js ]; then
  if command -v npm >/dev/null; then
    npm ci --silent --no-audit --no-fund
    mkdir -p static/vendor/bpmn-js static/vendor/chart.js static/vendor/form-js static/vendor/swagger-ui
    cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js static/vendor/bpmn-js/
    cp -r node_modules/bpmn-js/dist/assets/. static/vendor/bpmn-js/
    cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chart.js/
    cp node_modules/@bpmn-io/form-js/dist/{form-viewer.umd.js,form-editor.umd.js} static/vendor/form-js/
    cp -r node_modules/@bpmn-io/form-js/dist/assets/. static/vendor/form-js/
    cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui-standalone-preset.js,swagger-ui.css} \
      static/vendor/swagger-ui/
    # The modeler (bpmn-js Modeler, properties panel, Camunda moddle) is bundled from npm
    # packages with esbuild: static/src/modeler.js -> static/vendor/modeler/.
    node_modules/.bin/esbuild static/src/modeler.js static/src/dmn-modeler.js --bundle --minify --outdir=static/vendor/modeler \
      --loader:.woff=dataurl --loader:.woff2=dataurl --loader:.ttf=dataurl --loader:.eot=dataurl \
      --loader:.svg=dataurl --log-level=warning
  else
    echo "npm not found: the diagram viewer, charts and Camunda Forms rendering will be missing (install Node.js and npm)." >&2
  fi
fi
# Third-party Camunda clients the /engine-rest tests run (test only, never shipped).
if [ "${1:-}" = "--dev" ] && command -v npm >/dev/null \
  && [ ! -d tests/clients/node_modules/camunda-external-task-client-js ]; then
  npm ci --prefix tests/clients --silent --no-audit --no-fund
fi
if [ "${1:-}" = "--dev" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium not found at /usr/bin/chromium: browser tests will be skipped (apt-get install chromium)." >&2
  fi
fi
