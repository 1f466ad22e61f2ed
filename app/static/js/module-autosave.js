// Saves a module activity's answers as the educator types. The page works without this file:
// its form posts the answers like any form. With it, every form marked data-autosave is posted
// (the same fields, the same URL, its CSRF token included) a moment after typing stops and
// when a field loses focus; the server answers JSON, and the status line says what happened.
// A press of one of the form's Save buttons is never lost to an autosave: leaving a field for
// the button starts none (the press posts every answer), and a press while an autosave is on
// its way waits for it to be answered, so the pressed answers always reach the server last.
// Served as a file because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  if (!window.fetch || !window.FormData) {
    return;
  }
  var DELAY = 1500;
  // How long a press waits for an autosave that is not answered before posting anyway.
  var PRESS_WAIT = 5000;

  function setUp(form) {
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    var dirty = false;
    var saving = false;
    // The autosave on its way (a promise settled once it is answered or has failed).
    var inFlight = null;
    // The Save button last pressed: browsers without SubmitEvent.submitter still send it on.
    var pressed = null;
    var submitting = false;
    // A press is waiting for the autosave on its way.
    var waiting = false;

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
      if (!dirty || saving || submitting) {
        return;
      }
      dirty = false;
      saving = true;
      say("Saving…");
      var data = new FormData(form);
      data.delete("then");
      inFlight = fetch(form.action, {
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
          inFlight = null;
        });
    }

    function isSaveButton(element) {
      return Boolean(element && element.form === form && element.type === "submit");
    }

    // Post the form as the pressed button would have: form.submit() sends no button, so its
    // name and value ("then": where to go next) go as a hidden field.
    var posted = null;
    function post(button) {
      if (button && button.name) {
        var field = document.createElement("input");
        posted = field;
        field.type = "hidden";
        field.name = button.name;
        field.value = button.value;
        form.appendChild(field);
      }
      form.submit();
    }

    form.addEventListener("input", function () {
      dirty = true;
      if (timer) {
        window.clearTimeout(timer);
      }
      timer = window.setTimeout(save, DELAY);
    });
    form.addEventListener("focusout", function (event) {
      if (isSaveButton(event.relatedTarget)) {
        // On the way to a Save button: the press posts every answer, and an autosave started
        // now would change the status line under the pointer mid-press.
        return;
      }
      if (event.target && event.target.tagName === "TEXTAREA") {
        save();
      }
    });
    form.addEventListener("click", function (event) {
      var button = event.target && event.target.closest ? event.target.closest("button") : null;
      if (isSaveButton(button)) {
        pressed = button;
      }
    });
    // Back to this page from the back/forward cache after a press: ready for the next one.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        submitting = false;
        if (posted && posted.parentNode) {
          posted.parentNode.removeChild(posted);
        }
        posted = null;
      }
    });
    form.addEventListener("submit", function (event) {
      if (waiting) {
        event.preventDefault(); // pressed again while the first press waits: that one posts
        return;
      }
      if (submitting) {
        return;
      }
      submitting = true;
      // The press posts every answer: nothing is left for a later autosave.
      if (timer) {
        window.clearTimeout(timer);
        timer = null;
      }
      dirty = false;
      if (!inFlight) {
        return;
      }
      // An autosave is on its way: post once it is answered, so it can never land after (and
      // overwrite) the answers posted by the press.
      event.preventDefault();
      var button = event.submitter || pressed;
      waiting = true;
      function go() {
        if (waiting) {
          waiting = false;
          post(button);
        }
      }
      say("Saving…");
      inFlight.then(go, go);
      window.setTimeout(go, PRESS_WAIT);
    });
  }

  var forms = document.querySelectorAll("form[data-autosave]");
  for (var i = 0; i < forms.length; i += 1) {
    setUp(forms[i]);
  }
})();
