// Copy-link buttons: shown only when the Clipboard API exists; the link field works without it.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var field = document.getElementById(button.getAttribute("data-copy"));
    navigator.clipboard.writeText(field.value).then(function () {
      button.textContent = button.getAttribute("data-copied") || "Link copied";
    }, function () {
      field.select();
    });
  });
});
