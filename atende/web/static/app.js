// Atende's own behaviour, only where htmx cannot do it: the live-connection banner, the phone
// menu, copy buttons, local times and the service worker. Kept tiny on purpose.
(function () {
  "use strict";
  var reconnecting = false;

  function banner(show) {
    var el = document.getElementById("live-banner");
    if (el) el.hidden = !show;
    document.documentElement.setAttribute("data-live", show ? "down" : "open");
  }

  document.addEventListener("htmx:sseError", function () {
    reconnecting = true;
    banner(true);
  });
  document.addEventListener("htmx:sseOpen", function () {
    banner(false);
    // After a gap, live panels fetch themselves again in case an event was missed.
    if (reconnecting && window.htmx) htmx.trigger(document.body, "atende:resync");
    reconnecting = false;
  });

  function copy(button) {
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || label;
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () {});
    else if (document.execCommand("copy")) done();
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var toggle = target.closest("[data-menu-toggle]");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      var nav = document.getElementById(toggle.getAttribute("aria-controls"));
      if (nav) nav.classList.toggle("open", open);
      return;
    }
    var copyButton = target.closest("[data-copy]");
    if (copyButton) return copy(copyButton);
    // A click outside the open account menu closes it.
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(target)) menu.removeAttribute("open");
    });
  });

  // Times are rendered in UTC on the server; show them in the reader's own time zone.
  function localTimes(root) {
    var format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      dateStyle: "medium", timeStyle: "short"
    });
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date)) el.textContent = format.format(date);
    });
  }
  document.addEventListener("htmx:load", function (event) { localTimes(event.target); });

  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js").catch(function () {});
    });
  }
})();
