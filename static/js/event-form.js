/* Event form: the e-forum list settings apply to e-forums only, so hide their fieldset
   while the kind select says otherwise. Without JS the fieldset stays visible (its hint
   says "for e-forums only"). Hidden fields are still submitted, so nothing typed is lost. */
(function () {
  "use strict";
  var kind = document.getElementById("kind");
  var sets = document.querySelectorAll("fieldset.eforum-only[data-kind]");
  if (!kind || !sets.length) return;
  function sync() {
    for (var i = 0; i < sets.length; i++) {
      var off = kind.value !== sets[i].getAttribute("data-kind");
      sets[i].hidden = off;
      sets[i].classList.toggle("is-off", off);
    }
  }
  kind.addEventListener("change", sync);
  sync();
})();
