// Live progress for a running bulk award job. The page marks the progress section with
// data-progress-url (the job's progress.json); this polls it every second, updates the bar
// and the counts, and reloads the page once the job is done or has failed, so the server
// renders the outcome. Served as a file because the Content-Security-Policy allows no
// inline script.
(function () {
  "use strict";

  var section = document.getElementById("bulk-progress");
  if (!section) {
    return;
  }
  if (!window.fetch) {
    // A browser too old to poll: reload the whole page instead, as <noscript> would.
    window.setTimeout(function () { window.location.reload(); }, 3000);
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var bar = section.querySelector("progress");
  var INTERVAL = 1000;
  var failures = 0;

  function show(field, value) {
    var nodes = section.querySelectorAll('[data-field="' + field + '"]');
    for (var i = 0; i < nodes.length; i += 1) {
      nodes[i].textContent = value === null || value === undefined ? "0" : String(value);
    }
  }

  function update(progress) {
    if (bar) {
      bar.max = progress.to_issue > 0 ? progress.to_issue : 1;
      bar.value = progress.done;
      bar.textContent = progress.percent + "%";
    }
    ["done", "to_issue", "percent", "issued", "skipped", "failed"].forEach(function (field) {
      show(field, progress[field]);
    });
    return progress.state === "done" || progress.state === "failed" || progress.state === "cancelled";
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("progress answered " + response.status);
        }
        return response.json();
      })
      .then(function (progress) {
        failures = 0;
        if (update(progress)) {
          window.location.reload();
        } else {
          window.setTimeout(poll, INTERVAL);
        }
      })
      .catch(function () {
        // A dropped connection or a restarting server: back off, but keep trying.
        failures += 1;
        window.setTimeout(poll, Math.min(30000, INTERVAL * Math.pow(2, failures)));
      });
  }

  window.setTimeout(poll, INTERVAL);
})();
