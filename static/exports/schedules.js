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

  var zone = browserZone();
  if (zone) {
    // My schedules shows times in the viewer's zone: the server reads it from this cookie.
    document.cookie = "portal_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
  }

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
