/* The mentoring page's countdown: keeps the server's "Closes in …" text current each minute,
   in the page's own (translated) words from data-days / data-hours / data-minutes. */
(function () {
  "use strict";
  var el = document.querySelector("time[data-countdown]");
  if (!el) return;
  var until = Date.parse(el.getAttribute("datetime"));
  function say(name, d, h, m) {
    return (el.getAttribute(name) || "").replace("{d}", d).replace("{h}", h).replace("{m}", m);
  }
  function tick() {
    var s = Math.max(0, Math.floor((until - Date.now()) / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    el.textContent = d ? say("data-days", d, h, m) : h ? say("data-hours", d, h, m) : say("data-minutes", d, h, m);
  }
  tick();
  setInterval(tick, 60000);
})();
