/* Each session's time in the viewer's own zone, in the announcement's format
   ("7:30 PM–3:30 AM (Kolkata)"), with dates when they differ from the event's home date.
   The zone is the browser's (Intl), or the one picked in the selector, remembered in
   localStorage. Without JavaScript the server renders the same line for ?tz= (or UTC). */
(function () {
  "use strict";
  var KEY = "forum.viewerZone";

  /* Browsers (ICU) report some zones by their old names; the page lists current IANA names. */
  var ALIASES = {
    "Asia/Calcutta": "Asia/Kolkata", "Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon", "Asia/Dacca": "Asia/Dhaka", "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar", "Asia/Macao": "Asia/Macau", "Europe/Kiev": "Europe/Kyiv",
    "Atlantic/Faeroe": "Atlantic/Faroe", "America/Godthab": "America/Nuuk",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Indianapolis": "America/Indiana/Indianapolis", "America/Louisville": "America/Kentucky/Louisville",
    "Pacific/Truk": "Pacific/Chuuk", "Pacific/Ponape": "Pacific/Pohnpei", "Pacific/Enderbury": "Pacific/Kanton"
  };

  function canonical(tz) { return tz && ALIASES[tz] && valid(ALIASES[tz]) ? ALIASES[tz] : tz; }

  function valid(tz) {
    if (!tz) return false;
    try { new Intl.DateTimeFormat("en-US", { timeZone: tz }); return true; } catch (e) { return false; }
  }

  function parts(date, tz, opts) {
    var out = {};
    var options = { timeZone: tz };
    for (var k in opts) options[k] = opts[k];
    new Intl.DateTimeFormat("en-US", options).formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }

  function pad(n) { return ("0" + n).slice(-2); }

  function time(d, tz) {
    var p = parts(d, tz, { hour: "numeric", minute: "2-digit", hour12: true });
    return p.hour + ":" + p.minute + " " + (p.dayPeriod || "").toUpperCase();
  }

  function day(d, tz) {
    var p = parts(d, tz, { year: "numeric", month: "numeric", day: "numeric", weekday: "short" });
    return { key: p.year + "-" + pad(p.month) + "-" + pad(p.day), text: p.weekday + " " + p.month + "/" + p.day };
  }

  function label(tz) { return tz.split("/").pop().replace(/_/g, " "); }

  function range(s, tz) {
    var start = new Date(s.start), end = new Date(s.end);
    var a = day(start, tz), b = day(end, tz), lab = " (" + label(tz) + ")";
    if (a.key !== b.key) return a.text + " " + time(start, tz) + "\u2013" + b.text + " " + time(end, tz) + lab;
    if (a.key !== s.home) return a.text + " " + time(start, tz) + "\u2013" + time(end, tz) + lab;
    return time(start, tz) + "\u2013" + time(end, tz) + lab;
  }

  /* When the reader's zone is one of the listed lines, that line says "your time zone" (the
     note's words come from the page, translated) and the separate line is hidden. */
  function markListed(li, tz) {
    var list = li.parentNode;
    list.querySelectorAll(".yours-note").forEach(function (n) { n.remove(); });
    var listed = list.querySelector('li[data-zone="' + tz + '"]');
    li.hidden = !!listed;
    if (listed) {
      var note = li.querySelector(".viewer-note").cloneNode(true);
      note.className = "muted yours-note";
      listed.appendChild(document.createTextNode(" "));
      listed.appendChild(note);
    }
  }

  function render(tz) {
    document.querySelectorAll(".viewer-zone[data-sessions]").forEach(function (li) {
      var sessions;
      try { sessions = JSON.parse(li.getAttribute("data-sessions")); } catch (e) { return; }
      var seen = [];
      sessions.forEach(function (s) { var t = range(s, tz); if (seen.indexOf(t) < 0) seen.push(t); });
      li.querySelector(".viewer-text").textContent = seen.join("\n");  /* one day per line */
      markListed(li, tz);
    });
  }

  function stored() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }

  function remember(tz) {
    try { window.localStorage.setItem(KEY, tz); } catch (e) { /* private mode: not remembered */ }
  }

  function start() {
    var fromUrl = new URLSearchParams(window.location.search).get("tz");
    var detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var tz = canonical([fromUrl, stored(), detected, "UTC"].filter(valid)[0]);
    var picker = document.querySelector("[data-zone-picker]");
    if (picker) {
      var select = picker.querySelector("select");
      if (!Array.prototype.some.call(select.options, function (o) { return o.value === tz; })) {
        select.add(new Option(tz, tz));
      }
      select.value = tz;
      picker.querySelectorAll("[data-no-js]").forEach(function (b) { b.hidden = true; });
      select.addEventListener("change", function () { remember(select.value); render(select.value); });
      picker.addEventListener("submit", function (ev) { ev.preventDefault(); remember(select.value); render(select.value); });
    }
    render(tz);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
