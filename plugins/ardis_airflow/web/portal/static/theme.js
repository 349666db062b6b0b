// Ardis portal: the same light/dark mode as the Airflow UI around it (next-themes: a "dark" or "light" class on
// its <html>, the choice in localStorage "theme"), else the system's. Loaded in <head> so no page flashes.
(function () {
  "use strict";
  var mode = null;
  try {
    var outer = window.parent !== window ? window.parent.document.documentElement.classList : null;
    if (outer && (outer.contains("dark") || outer.contains("light"))) mode = outer.contains("dark") ? "dark" : "light";
    var stored = window.localStorage.getItem("theme");
    if (!mode && (stored === "dark" || stored === "light")) mode = stored;
  } catch (e) { /* another origin's frame, or no storage */ }
  if (!mode) mode = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  document.documentElement.setAttribute("data-theme", mode);
}());
