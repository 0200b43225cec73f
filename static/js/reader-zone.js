/* The discussion archive shows times in the reader's zone. On a first visit (no tz cookie,
   no ?tz=), reload once with the browser's own zone; the server then remembers it in a cookie.
   The zone the page was rendered in is on the picker form (data-zone). */
(function () {
  "use strict";
  try {
    var form = document.querySelector("form.zone-picker[data-zone]");
    if (!form) return;
    if (document.cookie.indexOf("tz=") !== -1 || new URLSearchParams(location.search).has("tz")) return;
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!tz || tz === form.getAttribute("data-zone")) return;
    var params = new URLSearchParams(location.search); params.set("tz", tz);
    location.replace(location.pathname + "?" + params.toString() + location.hash);
  } catch (e) { /* old browser: the forum's zone is shown */ }
})();
