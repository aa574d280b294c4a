// Draws a Camunda Form with form-js in a host element and makes the page form post its data.
// The server-rendered fields stay as the fallback and are switched off once form-js is drawn;
// the server validates the same rules either way (and its errors are listed above the form).
(function () {
  "use strict";

  async function draw(form) {
    const host = document.getElementById(form.dataset.formJs);
    const payload = JSON.parse(document.getElementById(host.dataset.json).textContent);
    const viewer = new window.FormViewer.Form({ container: host });
    try {
      await viewer.importSchema(payload.schema, payload.data || {});
    } catch (error) {
      console.error("form-js could not draw the form; the plain fields stay", error);
      viewer.destroy();
      return;
    }
    const fields = form.querySelector(".server-fields");
    fields.hidden = true;
    fields.querySelectorAll("input, select, textarea").forEach((input) => (input.disabled = true));
    const posted = form.querySelector("input[name=form_json]");
    posted.disabled = false;
    host.hidden = false;
    form.dataset.formJsReady = "true";

    let checking = false;  // viewer.submit() emits "submit" too
    form.addEventListener("submit", (event) => {
      checking = true;
      const result = viewer.submit();
      checking = false;
      if (Object.keys(result.errors).length) {
        event.preventDefault();  // form-js shows each field's error
        return;
      }
      posted.value = JSON.stringify(result.data);
    });
    // Enter in a field or a submit button inside the Camunda Form submits the page form.
    viewer.on("submit", () => {
      if (!checking) form.requestSubmit();
    });
  }

  function start() {
    if (!window.FormViewer) {
      return;  // the library is missing (npm not run): the plain fields stay
    }
    document.querySelectorAll("form[data-form-js]").forEach((form) => draw(form));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
