// Saves a module activity's answers as the educator types. The page works without this file:
// its form posts the answers like any form. With it, every form marked data-autosave is posted
// (the same fields, the same URL, its CSRF token included) a moment after typing stops and
// when a field loses focus; the server answers JSON, and the status line says what happened.
// Served as a file because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  if (!window.fetch || !window.FormData) {
    return;
  }
  var DELAY = 1500;

  function setUp(form) {
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    var dirty = false;
    var saving = false;

    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }

    function save() {
      if (timer) {
        window.clearTimeout(timer);
        timer = null;
      }
      if (!dirty || saving) {
        return;
      }
      dirty = false;
      saving = true;
      say("Saving…");
      var data = new FormData(form);
      data.delete("then");
      fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (type.indexOf("application/json") === -1) {
            // Signed out meanwhile: the server answered with a page, not JSON.
            throw new Error("Not saved: sign in again, then press Save.");
          }
          return response.json().then(function (body) {
            if (!response.ok) {
              throw new Error("Not saved: " + (body.message || "please press Save."));
            }
            return body;
          });
        })
        .then(function (body) {
          var time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
          say("Saved at " + time + " · " + body.answered + " of " + body.total + " prompts answered");
        })
        .catch(function (error) {
          dirty = true;
          say(error && error.message && error.message.indexOf("Not saved") === 0
            ? error.message
            : "Not saved: the connection failed. Your text is still here; press Save.");
        })
        .then(function () {
          saving = false;
        });
    }

    form.addEventListener("input", function () {
      dirty = true;
      if (timer) {
        window.clearTimeout(timer);
      }
      timer = window.setTimeout(save, DELAY);
    });
    form.addEventListener("focusout", function (event) {
      if (event.target && event.target.tagName === "TEXTAREA") {
        save();
      }
    });
  }

  var forms = document.querySelectorAll("form[data-autosave]");
  for (var i = 0; i < forms.length; i += 1) {
    setUp(forms[i]);
  }
})();
