// Ardis portal: show the order form's fields for the chosen delivery method (the server checks them all anyway).
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
