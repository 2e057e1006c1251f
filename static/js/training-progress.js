// Live progress bars of training processes: every element with data-progress-url is updated
// from its JSON (training.views.training_process_progress) once a second until the process
// has ended — state, percentage, result and the report link — without reloading the page.
"use strict";
(function () {
  var INTERVAL_MS = 1000;

  function show(box, progress) {
    box.dataset.status = progress.status;
    var bar = box.querySelector("progress");
    if (bar) bar.value = progress.progress_percentage;
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var value = progress[el.dataset.field];
      if (el.dataset.field === "progress_state_label" && !value) {
        value = progress.ended ? "" : "waiting for a worker";
      }
      el.textContent = value === null || value === undefined ? "" : value;
    });
    var badge = box.querySelector(".badge");
    if (badge) badge.className = "badge state-" + progress.status.toLowerCase();
    // The request's requestStatus, where the page shows it (a request has one process).
    document.querySelectorAll("[data-request-status]").forEach(function (el) {
      if (!progress.request_status) return;
      el.textContent = progress.request_status_label;
      el.className = "badge state-" + progress.request_status.toLowerCase();
    });
    if (progress.report_url) {
      var link = box.querySelector(".report-link");
      link.querySelector("a").href = progress.report_url;
      link.hidden = false;
    }
    if (progress.ended) {
      // Nothing left to cancel, suspend or resume.
      box.querySelectorAll("[data-while-open]").forEach(function (el) { el.remove(); });
      if (progress.request_status === "FINISHED" || progress.request_status === "CANCELLED") {
        document.querySelectorAll("[data-request-actions]").forEach(function (el) { el.remove(); });
      }
    }
  }

  function follow(box) {
    var url = box.dataset.progressUrl;
    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (progress) {
          show(box, progress);
          if (!progress.ended) window.setTimeout(poll, INTERVAL_MS);
        })
        .catch(function () { window.setTimeout(poll, 5 * INTERVAL_MS); });
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress-url]").forEach(follow);
  });
})();
