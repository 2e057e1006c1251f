// The compare page's charts: a grouped bar chart per axis (scores on 0..1; errors and other
// unbounded scores on their own scale), a bar per version, drawn with the vendored Chart.js
// from the data the page gives in json_script elements. Without JavaScript the tables below
// each chart hold the figures.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Chart === "undefined") return;
  // The baseline (the oldest version) in grey, the others in distinct colours.
  var colours = ["#9aa5b1", "#1f6feb", "#d97706", "#1a7f37", "#8e44ad", "#c62828"];
  document.querySelectorAll("canvas[data-compare-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.source);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var y = canvas.dataset.compareChart === "score" ? { min: 0, max: 1 } : { beginAtZero: true };
    canvas.chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, i) {
          return {
            label: series.version,
            data: series.scores,
            backgroundColor: colours[i % colours.length],
          };
        }),
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: y } },
    });
    canvas.dataset.rendered = "true";
  });
});
