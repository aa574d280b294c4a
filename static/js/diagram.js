// Render the BPMN diagram of the page with bpmn-js (served from static/vendor, no CDN) and mark
// finished steps and current tokens.
(function () {
  const container = document.getElementById("diagram");
  if (!container || typeof BpmnJS === "undefined") return;
  const viewer = new BpmnJS({ container: container });
  const errorBox = document.getElementById("diagram-error");
  const ids = (value) => (value || "").split(",").filter(Boolean);

  fetch(container.dataset.xmlUrl, { credentials: "same-origin" })
    .then((response) => response.text())
    .then((xml) => viewer.importXML(xml))
    .then(() => {
      const canvas = viewer.get("canvas");
      const registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      for (const id of ids(container.dataset.finished)) {
        if (registry.get(id)) canvas.addMarker(id, "step-finished");
      }
      for (const id of ids(container.dataset.current)) {
        if (registry.get(id)) canvas.addMarker(id, "step-current");
      }
      container.dataset.rendered = "true";
    })
    .catch((err) => {
      // A diagram without BPMN DI (no layout) cannot be drawn; say so instead of an empty box.
      errorBox.hidden = false;
      errorBox.textContent = "The diagram cannot be drawn: " + (err.message || err) +
        " (files without diagram layout, BPMN DI, have nothing to draw).";
      container.dataset.rendered = "error";
    });
})();
