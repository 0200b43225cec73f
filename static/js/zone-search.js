/* Type-to-search for the long time-zone pickers: every <select data-zone-search> gets a
   search box above it that hides the options whose name or label does not match.
   Without JavaScript the select works as it is (and browsers jump to typed letters). */
(function () {
  "use strict";
  function norm(text) { return text.toLowerCase().replace(/_/g, " ").replace(/\u2212/g, "-"); }
  function attach(select) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "zone-search";
    box.id = select.id + "-search";
    box.setAttribute("aria-label", "Search time zones");
    box.setAttribute("aria-controls", select.id);
    box.placeholder = "Search, e.g. Kolkata or UTC+1";
    box.autocomplete = "off";
    select.parentNode.insertBefore(box, select);
    box.addEventListener("input", function () {
      var q = norm(box.value.trim());
      var first = null;
      var options = select.querySelectorAll("option");
      for (var i = 0; i < options.length; i++) {
        var o = options[i];
        var hit = !q || norm(o.value + " " + o.textContent).indexOf(q) !== -1;
        o.hidden = !hit;
        if (hit && !first && o.value) first = o;
      }
      var groups = select.querySelectorAll("optgroup");
      for (var j = 0; j < groups.length; j++) {
        groups[j].hidden = !groups[j].querySelector("option:not([hidden])");
      }
      if (q && first && select.selectedOptions[0] && select.selectedOptions[0].hidden) {
        first.selected = true;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }
  var selects = document.querySelectorAll("select[data-zone-search]");
  for (var i = 0; i < selects.length; i++) attach(selects[i]);
})();
