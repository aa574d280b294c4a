// Draws the dashboard charts from the JSON the page embeds (Chart.js from static/vendor).
(function () {
  function draw(canvasId, config) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || typeof Chart === "undefined") return;
    new Chart(canvas, config);
    canvas.setAttribute("data-drawn", "true");
  }
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var base = { responsive: true, maintainAspectRatio: false, animation: false };
  if (data.weeks) {
    draw("chart-per-week", {
      type: "bar",
      data: {
        labels: data.weeks,
        datasets: data.people.map(function (person, i) {
          var shades = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04"];
          return { label: person.user, data: person.per_week, backgroundColor: shades[i % shades.length] };
        }),
      },
      options: Object.assign({ scales: { x: { stacked: true }, y: { stacked: true } } }, base),
    });
    return;
  }
  draw("chart-per-day", {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: "Started", data: data.started, backgroundColor: "#93c5fd" },
        { label: "Completed", data: data.completed, backgroundColor: "#2563eb" },
      ],
    },
    options: base,
  });
  if (data.steps) {
    draw("chart-steps", {
      type: "bar",
      data: {
        labels: data.steps,
        datasets: [
          { label: "Waiting (h, average)", data: data.waiting_h, backgroundColor: "#fdba74" },
          { label: "Working (h, average)", data: data.working_h, backgroundColor: "#f97316" },
        ],
      },
      options: Object.assign({ indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } }, base),
    });
  }
})();
