// The modeler page: loads the diagram into bpmn-js, and sends it to the server to validate,
// keep as a draft or deploy. Problems and compatibility notes are listed and marked on their
// elements.
document.addEventListener("DOMContentLoaded", async () => {
  const data = JSON.parse(document.getElementById("modeler-data").textContent);
  const canvasBox = document.getElementById("canvas");
  const dmn = data.kind === "dmn";
  const form = data.kind === "form";
  let modeler = null;
  if (form) {
    modeler = await window.FormEditor.createFormEditor({ container: canvasBox, schema: JSON.parse(data.xml) });
  } else {
    modeler = dmn
      ? window.BpmDmnModeler.create(canvasBox)
      : window.BpmModeler.create(canvasBox, document.getElementById("properties"));
  }
  window.bpmModeler = modeler; // for scripted drawing (tests) and the curious
  const status = document.getElementById("modeler-status");
  const report = document.getElementById("modeler-report");
  const list = document.getElementById("modeler-problems");
  let marked = [];

  if (form) {
    // the editor was created with the form's schema
  } else if (dmn) {
    await modeler.importXML(data.xml);
    // open the first decision's table, as Camunda Modeler does for a one-table file
    const table = modeler.getViews().find((view) => view.type === "decisionTable");
    if (table) await modeler.open(table);
  } else {
    await modeler.importXML(data.xml);
    modeler.get("canvas").zoom("fit-viewport", "auto");
  }
  canvasBox.dataset.ready = "true";

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": data.csrf },
      body: JSON.stringify({ kind: data.kind, name: data.name, ...body }),
    });
    return [response.status, await response.json()];
  }

  function mark(items, marker, describe) {
    const viewer = dmn || form ? null : modeler;  // markers on the BPMN diagram; other reports are lists
    const registry = viewer && viewer.get("elementRegistry");
    const canvas = viewer && viewer.get("canvas");
    for (const item of items) {
      const li = document.createElement("li");
      li.className = marker;
      li.textContent = describe(item);
      list.appendChild(li);
      if (registry && item.element_id && registry.get(item.element_id)) {
        canvas.addMarker(item.element_id, marker);
        marked.push([item.element_id, marker]);
      }
    }
  }

  function show(problems, notes) {
    if (!dmn && !form) {
      const canvas = modeler.get("canvas");
      for (const [id, marker] of marked) canvas.removeMarker(id, marker);
    }
    marked = [];
    list.replaceChildren();
    mark(problems, "bpm-problem", (p) => `${p.element_id ? p.element_id + ": " : ""}${p.message}${p.line ? " (line " + p.line + ")" : ""}`);
    mark(notes, "bpm-note", (n) => `${n.element_id ? n.element_id + ": " : ""}${n.feature}: ${n.effect}`);
    report.hidden = !(problems.length || notes.length);
  }

  async function xml() {
    if (form) return JSON.stringify(modeler.saveSchema(), null, 2);
    return (await modeler.saveXML({ format: true })).xml;
  }

  document.getElementById("validate").addEventListener("click", async () => {
    const [code, answer] = await post(data.urls.check, { xml: await xml() });
    if (code !== 200) { status.textContent = answer.message; return; }
    show(answer.problems, answer.notes);
    status.textContent = answer.problems.length
      ? `${answer.problems.length} problem(s): it cannot be deployed as it is.`
      : `It can be deployed${answer.notes.length ? `; ${answer.notes.length} compatibility note(s)` : ""}.`;
    status.dataset.checked = answer.problems.length ? "problems" : "ok";
  });

  document.getElementById("save-draft").addEventListener("click", async () => {
    const [code, answer] = await post(data.urls.draft, { xml: await xml(), opened_from: data.opened_from });
    status.textContent = code === 200 ? `Draft of ${answer.key} saved.` : answer.message;
    status.dataset.saved = code === 200 ? "true" : "false";
  });

  document.getElementById("deploy").addEventListener("click", async () => {
    const chosen = document.getElementById("with-process");
    const [code, answer] = await post(data.urls.deploy, { xml: await xml(), with_process: chosen ? chosen.value : "" });
    if (code === 200 && answer.url) { window.location.href = answer.url; return; }
    if (code === 200) { status.textContent = answer.message; status.dataset.checked = "ok"; return; }
    show(answer.problems || [], []);
    status.textContent = answer.message;
    status.dataset.checked = "problems";
  });
});
