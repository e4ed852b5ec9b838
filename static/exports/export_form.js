// The export form's only script: copy the request preview, and keep "Technical details" open across
// the preview's swaps once the user opened it. Everything else is htmx or plain HTML.
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

  var technicalOpen = false;
  // "toggle" does not bubble: listen in the capture phase.
  document.addEventListener("toggle", function (event) {
    if (event.target.id === "technical-details") technicalOpen = event.target.open;
  }, true);

  function restoreTechnical(root) {
    var details = root.querySelector ? root.querySelector("#technical-details") : null;
    if (details && technicalOpen) details.open = true;
  }

  document.addEventListener("DOMContentLoaded", function () { showCopyButtons(document); });
  document.addEventListener("htmx:load", function (event) {
    showCopyButtons(event.detail.elt);
    restoreTechnical(event.detail.elt.parentNode || document);
  });
})();
