// The export form's only script: copy the request preview. Everything else is htmx or plain HTML.
(function () {
  "use strict";

  function showCopyButtons(root) {
    root.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copyTarget);
    if (!source) return;
    var done = function (label) {
      button.textContent = label;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(
        function () { done("Copied"); },
        function () { selectText(source); done("Selected: press Ctrl+C"); }
      );
    } else {
      // Plain http: no clipboard API; select the JSON so the user can copy it.
      selectText(source);
      done("Selected: press Ctrl+C");
    }
  });

  document.addEventListener("DOMContentLoaded", function () { showCopyButtons(document); });
  document.addEventListener("htmx:load", function (event) { showCopyButtons(event.detail.elt); });
})();
