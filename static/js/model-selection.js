// A model selection's page: the ranking table and the bar chart of the candidates' scores
// fill in as candidates finish. The page's JSON (training.aimle.selection_views, progress)
// is polled once a second until the job has ended; the first figures come in a json_script
// element. The chart is drawn with the vendored Chart.js; without it the table holds them.
"use strict";
(function () {
  var INTERVAL_MS = 1000;
  var COLOURS = { FINISHED: "#1f5fa8", FAILED: "#c0392b", RUNNING: "#9db7d5" };

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function badge(candidate) {
    var span = document.createElement("span");
    span.className = "badge state-" + candidate.status.toLowerCase();
    span.textContent = candidate.status_label;
    return span;
  }

  function showTable(progress) {
    var body = document.querySelector("#ranking tbody");
    if (!body) return;
    var rows = progress.candidates.map(function (c) {
      var tr = document.createElement("tr");
      tr.id = "candidate-" + c.id;
      if (c.rank === 1) tr.className = "winner";
      tr.appendChild(cell(c.rank === null ? "—" : String(c.rank)));
      tr.appendChild(cell(c.model + " " + c.version));
      var status = cell("");
      status.appendChild(badge(c));
      if (c.error) {
        var error = document.createElement("small");
        error.className = "error";
        error.textContent = " " + c.error;
        status.appendChild(error);
      }
      tr.appendChild(status);
      tr.appendChild(cell(c.rounds_done + " / " + progress.rounds));
      tr.appendChild(cell(c.score === null ? "—" : c.score.toFixed(4)));
      return tr;
    });
    body.replaceChildren.apply(body, rows);
  }

  function chartData(progress) {
    var scored = progress.candidates.filter(function (c) { return c.score !== null; });
    return {
      labels: scored.map(function (c) {
        return (c.rank ? "#" + c.rank + " " : "") + c.model + " " + c.version;
      }),
      datasets: [{
        label: progress.metric,
        data: scored.map(function (c) { return c.score; }),
        backgroundColor: scored.map(function (c) {
          return c.rank === 1 ? "#1e8449" : COLOURS[c.status] || "#9db7d5";
        }),
      }],
    };
  }

  function showChart(progress) {
    var canvas = document.getElementById("selection-chart");
    if (!canvas || typeof Chart === "undefined") return;
    if (!canvas.chart) {
      canvas.chart = new Chart(canvas, {
        type: "bar",
        data: chartData(progress),
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          indexAxis: "y",
          scales: { x: { beginAtZero: true } },
          plugins: { legend: { display: false } },
        },
      });
    } else {
      canvas.chart.data = chartData(progress);
      canvas.chart.update();
    }
    canvas.dataset.bars = String(canvas.chart.data.labels.length);
  }

  function showJob(page, progress) {
    page.querySelectorAll("[data-field]").forEach(function (el) {
      var value = progress[el.dataset.field];
      el.textContent = value === null || value === undefined ? "" : value;
    });
    var status = page.querySelector("[data-status-badge]");
    if (status) status.className = "badge state-" + progress.status.toLowerCase();
    var bar = document.getElementById("selection-progress");
    if (bar) bar.value = progress.percentage;
    document.getElementById("target-reached").hidden = !progress.target_reached;
    document.getElementById("winner-form").hidden = !progress.can_take_winner;
  }

  function show(page, progress) {
    showJob(page, progress);
    showTable(progress);
    showChart(progress);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var page = document.getElementById("selection");
    var first = document.getElementById("selection-data");
    if (!page || !first) return;
    var progress = JSON.parse(first.textContent);
    show(page, progress);
    if (progress.ended) return;
    function poll() {
      fetch(page.dataset.progressUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (next) {
          show(page, next);
          if (!next.ended) window.setTimeout(poll, INTERVAL_MS);
        })
        .catch(function () { window.setTimeout(poll, 5 * INTERVAL_MS); });
    }
    window.setTimeout(poll, INTERVAL_MS);
  });
})();
