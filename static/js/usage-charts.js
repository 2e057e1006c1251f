// The usage page's charts (sharing.views.version_usage): answered calls and errors per period
// (stacked bars) with the error rate (line, %), and the latency percentiles (lines, ms), drawn
// with the vendored Chart.js from the data the page gives in a json_script element, as
// monitoring-chart.js draws the accuracy. Without JavaScript the page's table holds the figures.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("usage-chart-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var common = { animation: false, responsive: true, maintainAspectRatio: false };

  var calls = document.getElementById("calls-chart");
  if (calls) {
    calls.chart = new Chart(calls, {
      data: {
        labels: data.labels,
        datasets: [
          {
            type: "bar",
            label: "Answered",
            data: data.calls.map(function (n, i) { return n - data.errors[i]; }),
            yAxisID: "calls",
            stack: "calls",
            backgroundColor: "rgba(157, 183, 213, 0.8)",
          },
          {
            type: "bar",
            label: "Errors",
            data: data.errors,
            yAxisID: "calls",
            stack: "calls",
            backgroundColor: "#c0392b",
          },
          {
            type: "line",
            label: "Error rate (%)",
            data: data.errorRate,
            yAxisID: "rate",
            borderColor: "#7a1f16",
            backgroundColor: "#7a1f16",
            spanGaps: true,
          },
        ],
      },
      options: Object.assign({}, common, {
        scales: {
          x: { stacked: true },
          calls: { type: "linear", position: "left", stacked: true, beginAtZero: true, ticks: { precision: 0 } },
          rate: { type: "linear", position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } },
        },
      }),
    });
    calls.dataset.rendered = "true";
  }

  var latency = document.getElementById("latency-chart");
  if (latency) {
    var colours = ["#1f5fa8", "#d68910", "#7d3c98"];
    latency.chart = new Chart(latency, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: Object.keys(data.latency).map(function (p, i) {
          return {
            label: "p" + p + " (ms)",
            data: data.latency[p],
            borderColor: colours[i % colours.length],
            backgroundColor: colours[i % colours.length],
            spanGaps: true,
          };
        }),
      },
      options: Object.assign({}, common, {
        scales: { y: { beginAtZero: true, title: { display: true, text: "ms" } } },
      }),
    });
    latency.dataset.rendered = "true";
  }
});
