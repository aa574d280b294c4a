// Several BPMN diagrams on one page (migration preview, modification dialog), drawn with the
// bpmn-js viewer served from static/vendor (no CDN). Each container: data-xml-url, and
// data-marks, a JSON object of element id -> marker class. Clicking an element of a container
// with data-pick-into fills the input with that id (choose the element on the diagram).
(function () {
  if (typeof BpmnJS === "undefined") return;
  for (const container of document.querySelectorAll(".diagram[data-xml-url]")) {
    if (container.id === "diagram") continue; // the page's main diagram: diagram.js
    const dialog = container.closest("dialog");
    if (dialog && !dialog.open) {
      // a closed dialog has no size to fit the diagram to: draw it when it first opens
      const observer = new MutationObserver(() => {
        if (dialog.open) { observer.disconnect(); draw(container); }
      });
      observer.observe(dialog, { attributes: true, attributeFilter: ["open"] });
    } else {
      draw(container);
    }
  }

  function draw(container) {
    const viewer = new BpmnJS({ container: container });
    const marks = JSON.parse(container.dataset.marks || "{}");
    fetch(container.dataset.xmlUrl, { credentials: "same-origin" })
      .then((response) => response.text())
      .then((xml) => viewer.importXML(xml))
      .then(() => {
        const canvas = viewer.get("canvas");
        const registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        for (const [id, marker] of Object.entries(marks)) {
          if (registry.get(id)) canvas.addMarker(id, marker);
        }
        const target = container.dataset.pickInto && document.getElementById(container.dataset.pickInto);
        if (target) {
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
        container.dataset.rendered = "true";
      })
      .catch((err) => {
        container.dataset.rendered = "error";
        container.textContent = "The diagram cannot be drawn: " + (err.message || err);
      });
  }
})();
