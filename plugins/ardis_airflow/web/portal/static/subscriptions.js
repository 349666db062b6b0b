// Ardis subscriptions: the qualifier is checked as it is typed (the server's own parser, through
// /ardis/api/subscriptions/qualifier) and the delivery fields follow the chosen option. The server checks
// everything again when the form is sent.
(function () {
  "use strict";
  var form = document.getElementById("subscription-form");
  if (!form) return;
  var method = form.querySelector("select[name=method]") || form.querySelector("input[name=method]");
  function show() {
    var chosen = method ? method.value : "";
    form.querySelectorAll(".push-only").forEach(function (el) {
      el.classList.toggle("is-hidden", chosen !== "FTP Push" && chosen !== "scp");
    });
    form.querySelectorAll(".media-only").forEach(function (el) { el.classList.toggle("is-hidden", chosen !== "Media"); });
  }
  if (method) method.addEventListener("change", show);
  show();

  var box = form.querySelector("textarea[data-check]");
  var said = document.getElementById("qualifier-check");
  if (!box || !said) return;
  var timer = null, asked = 0;
  function say(text, kind) {
    said.textContent = text;
    said.className = "qualifier-check hint " + kind;
    if (kind === "bad") box.setAttribute("aria-invalid", "true"); else box.removeAttribute("aria-invalid");
  }
  function check() {
    var text = box.value, mine = ++asked;
    if (!text.trim()) { say("", "empty"); return; }
    say("checking…", "busy");
    fetch(box.getAttribute("data-check") + "?text=" + encodeURIComponent(text),
          {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (answer) { if (!answer.ok) throw new Error(answer.status); return answer.json(); })
      .then(function (result) {
        if (mine !== asked) return;  // a later keystroke asked again
        if (result.ok) say("✓ reads as: " + result.canonical, "good");
        else say("✗ " + result.error, "bad");
      })
      .catch(function () { if (mine === asked) say("could not check it now; it is checked when you send the form", "busy"); });
  }
  box.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(check, 250); });
  if (box.value.trim()) check();
}());
