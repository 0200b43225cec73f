/* The mentoring page's countdown: keeps the server's "Closes in …" text current each minute. */
(function () {
  "use strict";
  var el = document.querySelector("time[data-countdown]");
  if (!el) return;
  var until = Date.parse(el.getAttribute("datetime"));
  var prefix = el.textContent.replace(/\d.*$/, "");
  function tick() {
    var s = Math.max(0, Math.floor((until - Date.now()) / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    el.textContent = prefix + (d ? d + "d " + h + "h " + m + "m" : h ? h + "h " + m + "m" : m + "m");
  }
  tick();
  setInterval(tick, 60000);
})();
