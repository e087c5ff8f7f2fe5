// The web console's one script (served by the service; no inline script is allowed).
// Copy buttons, and the newest upload's state refreshed until its verdict. The pages work
// without it: the buttons stay hidden, and a reload shows the verdict.
(function () {
  "use strict";
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    var label = button.getAttribute("data-label");
    var done = button.getAttribute("data-done");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
        button.setAttribute("data-label", done);
        button.classList.add("done");
        setTimeout(function () { button.setAttribute("data-label", label); button.classList.remove("done"); }, 2000);
      });
    });
  });

  var panel = document.querySelector("[data-poll]");
  if (!panel) { return; }
  var url = panel.getAttribute("data-poll");
  var shown = panel.getAttribute("data-state");
  var tries = 0;
  function poll() {
    tries += 1;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && body.state && body.state !== shown && body.state !== "pending" && body.state !== "verifying") {
          window.location.reload();
          return;
        }
        if (tries < 600) { setTimeout(poll, tries < 20 ? 500 : 3000); }
      })
      .catch(function () { if (tries < 600) { setTimeout(poll, 3000); } });
  }
  setTimeout(poll, 300);
})();
