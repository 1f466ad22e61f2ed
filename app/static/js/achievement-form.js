// The achievement form with JavaScript: only the chosen image panel is shown, the badge designer
// and the badge card preview follow the inputs as they change, preset colour buttons fill the
// colour inputs, and "Add another alignment" adds a row in place. Without it the form works the
// same by submitting (the buttons re-render the page without saving).
(function () {
  var form = document.getElementById("achievement-form");
  if (!form) return;
  var designPreview = document.getElementById("design-preview");
  var cardImage = document.getElementById("badge-card-image");
  var cardInitials = document.getElementById("badge-card-initials");
  var uploaded = null;
  var timer = null;

  function source() {
    var checked = form.querySelector("input[name=image_source]:checked");
    return checked ? checked.value : "generate";
  }

  function designUrl() {
    var params = new URLSearchParams();
    ["shape", "background", "border", "text_colour", "icon", "line1", "line2"].forEach(function (name) {
      var inputs = form.querySelectorAll("[name=design_" + name + "]");
      inputs.forEach(function (input) {
        if ((input.type !== "radio" || input.checked)) params.set(name, input.value);
      });
    });
    return form.getAttribute("data-design-preview") + "?" + params.toString();
  }

  function initials(name) {
    var skip = ["in", "of", "and", "the", "a", "for", "to"];
    var words = name.split(/[^\p{L}\p{N}]+/u).filter(function (w) {
      return w && skip.indexOf(w.toLowerCase()) < 0;
    });
    return words.slice(0, 3).map(function (w) { return w[0].toUpperCase(); }).join("") || "★";
  }

  function showCardImage(src) {
    cardImage.hidden = !src;
    cardInitials.hidden = !!src;
    if (src) cardImage.src = src;
    else cardInitials.textContent = initials(form.elements.name.value);
  }

  function refreshCard() {
    var chosen = source();
    document.getElementById("badge-card-name").textContent = form.elements.name.value || "Your achievement’s name";
    document.getElementById("badge-card-description").textContent = form.elements.description.value || "Its description appears here.";
    var type = form.elements.achievement_type;
    document.getElementById("badge-card-type").textContent = type.options[type.selectedIndex].text;
    if (chosen === "design") showCardImage(designPreview.src);
    else if (chosen === "upload") showCardImage(uploaded || (form.elements.kept_image ? cardImage.getAttribute("data-kept") : ""));
    else if (chosen === "keep") {
      var current = form.querySelector("input[name=image_source][value=keep] + img");
      showCardImage(current ? current.src : "");
    } else showCardImage("");
  }

  function refreshDesign() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      designPreview.src = designUrl();
      refreshCard();
    }, 150);
  }

  function showPanels() {
    var chosen = source();
    form.querySelectorAll("[data-panel]").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-panel") !== chosen;
    });
  }

  if (cardImage.src && source() === "upload") cardImage.setAttribute("data-kept", cardImage.src);
  form.querySelectorAll("[data-no-js-hint]").forEach(function (hint) {
    hint.textContent = "The preview follows your choices.";
  });
  document.querySelectorAll("[data-card-hint]").forEach(function (hint) {
    hint.textContent = "As holders and visitors see it in lists and wallets; it follows what you type.";
  });

  form.addEventListener("change", function (event) {
    var name = event.target.name || "";
    if (name === "image_source") {
      // A file chosen earlier would otherwise be sent with another choice (and be refused).
      if (event.target.value !== "upload" && form.elements.image) form.elements.image.value = "";
      uploaded = null;
      showPanels();
      refreshCard();
    }
    if (name.indexOf("design_") === 0) refreshDesign();
    if (name === "achievement_type") refreshCard();
    if (name === "image") {
      var file = event.target.files[0];
      if (!file || ["image/png", "image/svg+xml"].indexOf(file.type) < 0) { uploaded = null; refreshCard(); return; }
      var reader = new FileReader();
      reader.onload = function () { uploaded = reader.result; refreshCard(); };
      reader.readAsDataURL(file);
    }
  });
  form.addEventListener("input", function (event) {
    var name = event.target.name || "";
    if (name === "name" || name === "description") refreshCard();
    if (name === "design_line1" || name === "design_line2" || event.target.type === "color") refreshDesign();
  });

  form.querySelectorAll("button[name=design_preset]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      form.elements.design_background.value = button.getAttribute("data-background");
      form.elements.design_border.value = button.getAttribute("data-border");
      form.elements.design_text_colour.value = button.getAttribute("data-text");
      refreshDesign();
    });
  });

  var addButton = form.querySelector("[data-add-alignment]");
  var rows = form.querySelector("[data-alignment-rows]");
  addButton.addEventListener("click", function (event) {
    event.preventDefault();
    var all = rows.querySelectorAll("[data-alignment-row]");
    var next = all.length;
    var row = all[all.length - 1].cloneNode(true);
    row.querySelectorAll("[id^=alignments-], [name^=alignments-], [for^=alignments-], [aria-describedby]").forEach(function (el) {
      ["id", "name", "for", "aria-describedby"].forEach(function (attribute) {
        var value = el.getAttribute(attribute);
        if (value) el.setAttribute(attribute, value.replace(/alignments-\d+-/g, "alignments-" + next + "-"));
      });
      el.removeAttribute("aria-invalid");
      if (el.tagName === "INPUT") el.value = "";
      if (el.tagName === "SELECT") el.selectedIndex = 0;
    });
    row.querySelectorAll(".field-error").forEach(function (error) { error.parentNode.remove(); });
    row.querySelectorAll("[aria-describedby]").forEach(function (el) {
      var ids = el.getAttribute("aria-describedby").split(" ").filter(function (id) { return !/-error$/.test(id); });
      if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
      else el.removeAttribute("aria-describedby");
    });
    row.querySelector("legend").textContent = "Alignment " + (next + 1);
    rows.appendChild(row);
    row.querySelector("input").focus();
  });

  showPanels();
  refreshCard();
})();
