// The decision-table modeler's bundle (built by scripts/setup.sh with esbuild into
// static/vendor/modeler/): dmn-js Modeler (decision requirements, decision tables, literal
// expressions), as in Camunda Modeler.
import DmnModeler from "dmn-js/lib/Modeler";

import "dmn-js/dist/assets/diagram-js.css";
import "dmn-js/dist/assets/dmn-js-shared.css";
import "dmn-js/dist/assets/dmn-js-drd.css";
import "dmn-js/dist/assets/dmn-js-decision-table.css";
import "dmn-js/dist/assets/dmn-js-decision-table-controls.css";
import "dmn-js/dist/assets/dmn-js-literal-expression.css";
import "dmn-js/dist/assets/dmn-js-boxed-expression.css";
import "dmn-js/dist/assets/dmn-js-boxed-expression-controls.css";
import "dmn-js/dist/assets/dmn-font/css/dmn-embedded.css";

window.BpmDmnModeler = {
  create(canvas) {
    return new DmnModeler({ container: canvas, common: { keyboard: { bindTo: window } } });
  },
};
