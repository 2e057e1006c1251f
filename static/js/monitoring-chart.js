// The monitoring page's chart: accuracy (line, %) and inferences (bars) per period, and each
// subscriber's threshold as a dashed line, drawn with the vendored Chart.js from the data the
// page gives in a json_script element. Without JavaScript the page's table holds the figures.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var canvas = document.getElementById("accuracy-chart");
  var source = document.getElementById("accuracy-chart-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var datasets = [
    {
      type: "line",
      label: "Accuracy (%)",
      data: data.accuracy,
      yAxisID: "accuracy",
      borderColor: "#1f5fa8",
      backgroundColor: "#1f5fa8",
      spanGaps: true,
    },
  ];
  data.thresholds.forEach(function (threshold) {
    datasets.push({
      type: "line",
      label: "Threshold " + threshold + " %",
      data: data.labels.map(function () { return threshold; }),
      yAxisID: "accuracy",
      borderColor: "#c0392b",
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 0,
    });
  });
  datasets.push({
    type: "bar",
    label: "Inferences",
    data: data.inferences,
    yAxisID: "inferences",
    backgroundColor: "rgba(157, 183, 213, 0.6)",
  });
  canvas.chart = new Chart(canvas, {
    data: { labels: data.labels, datasets: datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        accuracy: { type: "linear", position: "left", min: 0, max: 100 },
        inferences: {
          type: "linear",
          position: "right",
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          ticks: { precision: 0 },
        },
      },
    },
  });
  canvas.dataset.rendered = "true";
});
