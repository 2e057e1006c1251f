// The report's chart: the parent version's scores beside the new version's, per metric, drawn
// with the vendored Chart.js from the data the page gives in a json_script element.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var canvas = document.getElementById("report-chart");
  var source = document.getElementById("report-chart-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  canvas.chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: data.parent_label, data: data.parent, backgroundColor: "#9aa5b1" },
        { label: data.new_label, data: data.new, backgroundColor: "#2a6fdb" },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true } },
    },
  });
  canvas.dataset.rendered = "true";
});
