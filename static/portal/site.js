// The site's one script: the browser's time zone, table labels on phones, focus after htmx
// swaps and announcements of status changes. Pages work without it.
(function () {
  "use strict";

  // The browser's zone, sent with every request from now on; the server checks it against the
  // IANA names and shows times in it unless the person saved another one.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var cookie = "portal_tz=" + encodeURIComponent(zone);
    if (zone && document.cookie.split("; ").indexOf(cookie) === -1) {
      document.cookie = cookie + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (ignored) { /* no Intl: the server's zone it is */ }

  // On a phone tables become stacked rows; each cell shows its column's name (site.css).
  function labelTable(table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (heads[i] && cell.colSpan === 1 && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", heads[i]);
      });
    });
  }

  function labelTables(root) {
    var own = root.closest && root.closest("table");
    if (own) labelTable(own);
    if (root.querySelectorAll) root.querySelectorAll("table").forEach(labelTable);
  }

  // A status that changed while the page was open is said once by the announcer (base.html);
  // the polled parts are swapped whole, so a live region inside them would not be heard.
  var statuses = {};

  function noteStatuses(root, speak) {
    var found = root.querySelectorAll ? Array.prototype.slice.call(root.querySelectorAll("[data-status][id]")) : [];
    if (root.matches && root.matches("[data-status][id]")) found.unshift(root);
    found.forEach(function (element) {
      var before = statuses[element.id];
      statuses[element.id] = element.dataset.status;
      if (!speak || !before || before === element.dataset.status) return;
      var badge = element.querySelector(".badge");
      var link = element.matches("tr") && element.querySelector("a");
      var what = link ? link.textContent.trim() : (document.querySelector("h1") || {}).textContent || "";
      var announcer = document.getElementById("announcer");
      if (announcer && badge) announcer.textContent = what + ": " + badge.textContent.trim();
    });
  }

  // After an htmx swap that the person started, focus stays with their work: on the element the
  // response marks with data-focus-after-swap (e.g. the file just added), else where htmx put it,
  // else on the first control of what was swapped in, never on the page itself.
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
  var pending = null; // {elt: what the person used, target: the id of what it swaps}

  var FIELD = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";

  function focusIn(element) {
    if (!element) return false;
    // The first field (what the person fills in next), else the first control.
    var control = element.matches(FOCUSABLE) ? element : element.querySelector(FIELD) || element.querySelector(FOCUSABLE);
    if (!control) return false;
    control.focus();
    return true;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var started = elt && (elt === document.activeElement || elt.contains(document.activeElement));
    var target = event.detail.target;
    if (started) pending = { elt: elt, target: target && target.id };
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var marked = document.querySelector("[data-focus-after-swap]");
    if (marked) marked.removeAttribute("data-focus-after-swap");
    var config = event.detail.requestConfig;
    if (!pending || !config || pending.elt !== config.elt) return; // a poll, not the person's request
    var lost = !document.activeElement || document.activeElement === document.body;
    if (!(marked && focusIn(marked)) && lost && pending.target) focusIn(document.getElementById(pending.target));
    pending = null;
  });

  document.addEventListener("htmx:load", function (event) {
    labelTables(event.detail.elt);
    noteStatuses(event.detail.elt, true);
  });

  document.addEventListener("DOMContentLoaded", function () {
    labelTables(document);
    noteStatuses(document, false);
  });
})();
