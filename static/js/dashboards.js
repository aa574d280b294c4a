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
