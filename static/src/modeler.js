// The modeler page's bundle (built by scripts/setup.sh with esbuild into static/vendor/modeler/):
// bpmn-js Modeler with the properties panel and Camunda 7's moddle, so every camunda:
// attribute the engine reads is editable, as in Camunda Modeler.
import BpmnModeler from "bpmn-js/lib/Modeler";
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from "bpmn-js-properties-panel";
import CamundaBehaviorsModule from "camunda-bpmn-js-behaviors/lib/camunda-platform";
import camundaModdle from "camunda-bpmn-moddle/resources/camunda.json";

import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";

window.BpmModeler = {
  create(canvas, panel) {
    return new BpmnModeler({
      container: canvas,
      propertiesPanel: { parent: panel },
      additionalModules: [
        BpmnPropertiesPanelModule,
        BpmnPropertiesProviderModule,
        CamundaPlatformPropertiesProviderModule,
        CamundaBehaviorsModule,
      ],
      moddleExtensions: { camunda: camundaModdle },
    });
  },
};
