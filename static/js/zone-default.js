/* A zone picker that starts as the reader's own: the one picked on a page (remembered by
   zones.js), else the browser's. <select data-zone-default="1"> always takes it (the pathway
   follow form); data-zone-default="if-unset" only while nothing is saved (the preferences
   page), and then shows the note with id "<select id>-browser-note" naming the zone, so the
   reader knows Save will keep it. Without JavaScript the server's default stays. */
(function () {
  "use strict";
  try {
    var selects = document.querySelectorAll("select[data-zone-default]");
    for (var i = 0; i < selects.length; i++) {
      var select = selects[i];
      if (select.form && select.form.querySelector("[aria-invalid]")) continue;
      var onlyUnset = select.getAttribute("data-zone-default") === "if-unset";
      if (onlyUnset && select.value) continue;
      var tz = null;
      try { tz = window.localStorage.getItem("forum.viewerZone"); } catch (e) { tz = null; }
      tz = tz || Intl.DateTimeFormat().resolvedOptions().timeZone;
      var option = tz ? select.querySelector('option[value="' + tz + '"]') : null;
      if (!option) continue;
      select.value = tz;
      var note = document.getElementById(select.id + "-browser-note");
      if (note) {
        var name = note.querySelector("[data-zone-name]");
        if (name) name.textContent = option.textContent;
        note.hidden = false;
      }
    }
  } catch (e) { /* old browser: the default zone stays */ }
})();
