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
    var lang = document.documentElement.lang || undefined;
    var full = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    var short = new Intl.DateTimeFormat(lang, { timeStyle: "short" });
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      var format = el.getAttribute("data-local") === "time" ? short : full;
      if (!isNaN(date)) el.textContent = format.format(date);
    });
  }

  // Pairing codes expire: count down to `data-countdown` (a time, not a request).
  function tickCountdowns() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.round((new Date(el.getAttribute("data-countdown")) - Date.now()) / 1000);
      var expired = left <= 0;
      el.textContent = expired ? el.getAttribute("data-expired")
        : el.getAttribute("data-template").replace("{s}", String(left));
      el.classList.toggle("expired", expired);
    });
  }
  setInterval(tickCountdowns, 1000);

  // Chats start at their latest message.
  function scrollChats(root) {
    var chats = root.matches && root.matches("[data-chat]") ? [root] : root.querySelectorAll("[data-chat]");
    Array.prototype.forEach.call(chats, function (el) { el.scrollTop = el.scrollHeight; });
  }

  document.addEventListener("htmx:load", function (event) {
    localTimes(event.target);
    tickCountdowns();
    scrollChats(event.target);
  });
  document.addEventListener("htmx:afterSwap", function (event) { scrollChats(event.target); });

  // A sent message empties the composer, which keeps the focus for the next one.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-reset-on-success]") && event.detail.successful) {
      form.reset();
      var field = form.querySelector("textarea, input:not([type=hidden])");
      if (field) field.focus();
    }
  });

  // Enter sends, Shift+Enter makes a new line.
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key === "Enter" && !event.shiftKey && el.matches && el.matches("[data-enter-send]")) {
      event.preventDefault();
      if (el.value.trim() && el.form) el.form.requestSubmit();
    }
    if (event.key === "Escape") {  // Esc closes an open panel
      var close = document.querySelector("[data-close-panel]");
      if (close) close.click();
    }
  });

  // The agent "types" (`agent.typing` events): show the indicator of that number for a while.
  var typingTimer = null;
  document.addEventListener("htmx:sseMessage", function (event) {
    var message = event.detail;
    if (!message || message.type !== "agent.typing") return;
    var data = {};
    try { data = JSON.parse(message.data).data || {}; } catch (e) { return; }
    document.querySelectorAll("[data-typing]").forEach(function (el) {
      if (String(data.instance_id) !== el.getAttribute("data-instance")) return;
      el.hidden = data.typing === false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { el.hidden = true; }, 8000);
    });
  });

  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js").catch(function () {});
    });
  }
})();
