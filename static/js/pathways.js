/* The follow form's time zone starts as the reader's own: the one picked on the page
   (remembered by zones.js), else the browser's. Without JavaScript the server's default stays. */
(function () {
  "use strict";
  try {
    var select = document.querySelector("select[data-zone-default]");
    if (!select || select.form.querySelector("[aria-invalid]")) return;
    var tz = null;
    try { tz = window.localStorage.getItem("forum.viewerZone"); } catch (e) { tz = null; }
    tz = tz || Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && select.querySelector('option[value="' + tz + '"]')) select.value = tz;
  } catch (e) { /* old browser: the default zone stays */ }
})();
