// Ardis portal: an order's page follows its delivery (the JSON API, every 5 s, no reload until a request ends);
// the order form shows the fields of the chosen delivery method (the server checks them all anyway).
(function () {
  "use strict";
  var poll = document.querySelector("[data-poll]");
  if (!poll) return;
  var ended = ["complete", "partial", "failed", "cancelled"];
  function size(n) {
    var units = ["B", "KB", "MB", "GB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }
  function update(order) {
    var done = true;
    order.requests.forEach(function (r) {
      var section = document.querySelector('[data-request="' + r.request_id + '"]');
      if (!section) return;
      var state = section.querySelector("h2 .state"), p = r.progress;
      if (state.textContent !== r.state) { window.location.reload(); return; }  // a new step: its page
      var bar = section.querySelector(".progress");
      bar.setAttribute("aria-valuenow", p.delivered);
      bar.firstElementChild.style.width = (p.granules ? Math.round(100 * p.delivered / p.granules) : 0) + "%";
      section.querySelector(".progress-text").textContent = p.delivered + " of " + p.granules + " granule" +
        (p.granules === 1 ? "" : "s") + " delivered · " + size(p.bytes_delivered) + " of " + size(p.bytes);
      if (ended.indexOf(r.state) < 0) done = false;
    });
    if (!done) window.setTimeout(tick, 5000);
  }
  function tick() {
    fetch(poll.getAttribute("data-poll"), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (answer) { if (!answer.ok) throw new Error(answer.status); return answer.json(); })
      .then(update)
      .catch(function () { window.setTimeout(tick, 15000); });
  }
  window.setTimeout(tick, 5000);
}());

(function () {
  "use strict";
  var form = document.getElementById("order-form");
  if (!form) return;
  var push = ["FtpPush", "scp", "SmbPush"], media = ["CDROM", "DVD", "DLT"];
  function show() {
    var checked = form.querySelector("input[name=method]:checked");
    var method = checked ? checked.value : "";
    form.querySelectorAll(".push-only").forEach(function (el) { el.classList.toggle("is-hidden", push.indexOf(method) < 0); });
    form.querySelectorAll(".media-only").forEach(function (el) { el.classList.toggle("is-hidden", media.indexOf(method) < 0); });
  }
  form.addEventListener("change", show);
  show();
  // One click sends the form once (the server also finds a resent form's order by its token).
  form.addEventListener("submit", function () {
    var button = document.getElementById("place-order");
    setTimeout(function () { button.disabled = true; }, 0);
  });
}());
