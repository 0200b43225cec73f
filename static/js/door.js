/* The join page before the door opens: count down to the opening instant and then reload,
   which lets the registrant in (the server decides; this only saves a click).
   No inline script: the page's CSP allows scripts from 'self' only. */
(function () {
  "use strict";
  var el = document.querySelector("[data-countdown]");
  if (!el) return;
  var opens = new Date(el.getAttribute("data-countdown")).getTime();
  if (isNaN(opens)) return;
  function two(n) { return ("0" + n).slice(-2); }
  function tick() {
    var left = Math.max(0, Math.round((opens - Date.now()) / 1000));
    if (left === 0) { window.location.reload(); return; }
    var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
    el.textContent = "in " + (d ? d + (d === 1 ? " day " : " days ") : "") + h + ":" + two(m) + ":" + two(s);
    window.setTimeout(tick, 1000);
  }
  tick();
})();
