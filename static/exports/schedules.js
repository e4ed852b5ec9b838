// The schedule pages' only script: tell the server the browser's time zone. Everything else is htmx
// or plain HTML; without this script schedules start in the server's TIME_ZONE.
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  // static/portal/site.js sends the same zone in a cookie for every page's times.
  var zone = browserZone();

  function useBrowserZone(root) {
    root.querySelectorAll("[data-browser-timezone]").forEach(function (input) {
      input.value = zone;
    });
    // A new schedule starts in the browser's zone unless the user typed one.
    var field = root.querySelector("[data-default-timezone]");
    if (zone && field && field.value !== zone && !field.dataset.touched) {
      field.value = zone;
      field.dataset.touched = "default";
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  document.addEventListener("DOMContentLoaded", function () { useBrowserZone(document); });
})();
