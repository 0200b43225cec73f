// Conditional registration questions: a question with data-show-if="q12" and
// data-show-values='["Yes"]' is shown only while question 12 (itself shown) has one of
// those answers. Hidden questions are disabled, so their inputs are not sent. The server
// evaluates the same conditions again (forum/registration/answers.py) and is the truth.
(function () {
  "use strict";

  function answersOf(form, name) {
    var field = form.querySelector('[data-question="' + name.slice(1) + '"]');
    if (field && field.hidden) return [];
    var out = [];
    form.querySelectorAll('[name="' + name + '"]').forEach(function (input) {
      if (input.disabled) return;
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
      if (input.value) out.push(input.type === "checkbox" && input.value === "yes" ? "Yes" : input.value);
    });
    return out;
  }

  function update(form) {
    // in document order: a question depends only on earlier ones, so one pass settles all
    form.querySelectorAll("[data-show-if]").forEach(function (field) {
      var wanted;
      try {
        wanted = JSON.parse(field.getAttribute("data-show-values") || "[]");
      } catch (e) {
        wanted = [];
      }
      wanted = wanted.map(function (v) { return String(v).toLowerCase(); });
      var given = answersOf(form, field.getAttribute("data-show-if"));
      var show = given.some(function (v) { return wanted.indexOf(String(v).toLowerCase()) !== -1; });
      field.hidden = !show;
      field.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.disabled = !show;
      });
    });
  }

  function init() {
    document.querySelectorAll("[data-questions]").forEach(function (fieldset) {
      var form = fieldset.closest("form") || fieldset;
      update(form);
      form.addEventListener("change", function () { update(form); });
      form.addEventListener("input", function () { update(form); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
