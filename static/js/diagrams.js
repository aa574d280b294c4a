// The BPMN diagrams of a page, drawn with the bpmn-js viewer served from static/vendor (no CDN).
// Each container (.diagram[data-xml-url]) may carry data-finished and data-current (element ids
// of finished steps and current tokens), data-marks (a JSON object of element id -> marker class)
// and data-pick-into (the id of an input that a click on an element fills: choose the element on
// the diagram). A container inside a closed dialog is drawn when the dialog first opens.
(function () {
  if (typeof BpmnJS === "undefined") return;
  const ids = (value) => (value || "").split(",").filter(Boolean);

  function marksOf(container) {
    const marks = JSON.parse(container.dataset.marks || "{}");
    for (const id of ids(container.dataset.finished)) marks[id] = "step-finished";
    for (const id of ids(container.dataset.current)) marks[id] = "step-current";
    return marks;
  }

  function failed(container, err) {
    // A diagram without BPMN DI (no layout) cannot be drawn; say so instead of an empty box.
    const box = document.getElementById(container.id + "-error");
    const text = "The diagram cannot be drawn: " + (err.message || err) +
      " (files without diagram layout, BPMN DI, have nothing to draw).";
    if (box) { box.hidden = false; box.textContent = text; } else { container.textContent = text; }
    container.dataset.rendered = "error";
  }

  function pickInto(viewer, canvas, target) {
    let picked = null;
    viewer.get("eventBus").on("element.click", (event) => {
      const element = event.element;
      if (!element || !element.businessObject || element.type === "bpmn:Process" || element.type === "label") return;
      if (picked) canvas.removeMarker(picked, "step-picked");
      picked = element.id;
      canvas.addMarker(picked, "step-picked");
      target.value = element.id;
      target.dispatchEvent(new Event("change"));
    });
  }

  function draw(container) {
    const viewer = new BpmnJS({ container: container });
    fetch(container.dataset.xmlUrl, { credentials: "same-origin" })
      .then((response) => response.text())
      .then((xml) => viewer.importXML(xml))
      .then(() => {
        const canvas = viewer.get("canvas");
        const registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        for (const [id, marker] of Object.entries(marksOf(container))) {
          if (registry.get(id)) canvas.addMarker(id, marker);
        }
        const target = container.dataset.pickInto && document.getElementById(container.dataset.pickInto);
        if (target) pickInto(viewer, canvas, target);
        container.dataset.rendered = "true";
      })
      .catch((err) => failed(container, err));
  }

  function drawAll() {
    for (const container of document.querySelectorAll(".diagram[data-xml-url]")) {
      const dialog = container.closest("dialog");
      if (dialog && !dialog.open) {
        const observer = new MutationObserver(() => {
          if (dialog.open) { observer.disconnect(); draw(container); }
        });
        observer.observe(dialog, { attributes: true, attributeFilter: ["open"] });
      } else {
        draw(container);
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
