// The open conversation beyond messages: internal notes (the composer's note mode, and
// `note.created` from colleagues), media that finished downloading (`message.updated`), `/`
// canned replies, the "why" panel, "send again", and the "new messages" marker. Kept apart
// from inbox.js, which owns the list and the message flow.
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  function openId() {
    var c = document.querySelector("#pane [data-conversation]");
    return c ? c.getAttribute("data-conversation") : null;
  }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; } catch (e) { return ""; }
  }
  function html(text) {
    var tpl = document.createElement("template");
    tpl.innerHTML = text.trim();
    return tpl.content.firstElementChild;
  }
  function get(url) {
    return fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; }, function () { return null; });
  }
  function putNote(text, own) {
    var thread = $("thread"), li = text && html(text);
    if (!thread || !li || $(li.id)) return;
    var stick = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
    var pending = thread.querySelector(".msg.pending");
    htmx.swap(pending || thread, text, { swapStyle: pending ? "beforebegin" : "beforeend", swapDelay: 0, settleDelay: 0 });
    document.dispatchEvent(new CustomEvent("atende:regroup"));
    if (stick || own) thread.scrollTop = thread.scrollHeight;
  }

  // --- internal notes -------------------------------------------------------------------------
  function noteMode(form) { var box = form.querySelector("[data-note-toggle]"); return !!(box && box.checked); }
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.matches("[data-note-toggle]")) return;
    var form = box.closest("form"), field = form.querySelector("textarea");
    if (!field._placeholder) field._placeholder = field.placeholder;
    field.placeholder = box.checked ? form.getAttribute("data-note-placeholder") : field._placeholder;
    form.classList.toggle("noting", box.checked);
    field.focus();
  });
  // Capture: in note mode the composer posts a note, and inbox.js never sees the submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-composer]") || !noteMode(form)) return;
    event.preventDefault();
    event.stopPropagation();
    var field = form.querySelector("textarea"), error = form.querySelector(".send-error");
    if (!field.value.trim() || form.getAttribute("data-busy")) return;
    form.setAttribute("data-busy", "1");
    fetch(form.getAttribute("data-note-action"), {
      method: "POST", credentials: "same-origin", body: new URLSearchParams({ text: field.value }),
      headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" },
    }).then(function (r) {
      return r.text().then(function (text) {
        form.removeAttribute("data-busy");
        if (!r.ok) { error.textContent = (html(text) || {}).textContent || String(r.status); error.hidden = false; return; }
        error.hidden = true;
        field.value = "";
        putNote(text, true);
      });
    }, function () {
      form.removeAttribute("data-busy");
      error.textContent = error.getAttribute("data-offline");
      error.hidden = false;
    });
  }, true);
  document.addEventListener("htmx:sseMessage", function (event) {
    var m = event.detail;
    if (!(event.target instanceof Element) || !event.target.matches("[data-thread-live]") || !m) return;
    var d;
    try { d = JSON.parse(m.data).data || {}; } catch (e) { return; }
    var cid = String(d.conversation_id);
    if (cid !== openId()) return;
    if (m.type === "note.created" && !$("note-" + d.note_id)) {
      get("/inbox/" + cid + "/notes/" + d.note_id).then(function (text) { if (cid === openId()) putNote(text, false); });
    } else if (m.type === "message.updated" && $("msg-" + d.message_id)) {  // its media arrived (or failed)
      get("/inbox/" + cid + "/messages/" + d.message_id).then(function (text) {
        var old = $("msg-" + d.message_id);
        if (text && old) htmx.swap(old, text, { swapStyle: "outerHTML", swapDelay: 0, settleDelay: 0 });
      });
    }
  });

  // --- canned replies: "/" + letters in the composer ------------------------------------------
  function menu() { return $("canned-menu"); }
  function options() { var m = menu(); return m ? Array.prototype.slice.call(m.querySelectorAll("[role=option]")) : []; }
  function closeMenu() {
    var m = menu(), field = $("reply-text");
    if (m) { m.hidden = true; m.innerHTML = ""; }
    if (field) field.removeAttribute("aria-activedescendant");
  }
  function choose(option) {
    var field = $("reply-text");
    if (!field || !option) return;
    field.value = option.getAttribute("data-canned-text");
    closeMenu();
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
  }
  function select(step) {
    var all = options(), at = all.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    if (!all.length) return;
    var next = (at + step + all.length) % all.length;
    all.forEach(function (o, i) { o.setAttribute("aria-selected", i === next ? "true" : "false"); });
    $("reply-text").setAttribute("aria-activedescendant", all[next].id);
    all[next].scrollIntoView({ block: "nearest" });
  }
  var asked = 0;
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!(field instanceof HTMLTextAreaElement) || !field.matches("[data-canned]")) return;
    var typed = /^\/([\w-]{0,32})$/.exec(field.value), n = ++asked;
    if (!typed) return closeMenu();
    get("/inbox/canned/suggest?q=" + encodeURIComponent(typed[1])).then(function (text) {
      var m = menu();
      if (n !== asked || !m || text === null) return;  // a later keystroke asked again
      var chosen = m.querySelector("[aria-selected=true]"), keep = chosen && chosen.id;
      htmx.swap(m, text, { swapStyle: "innerHTML", swapDelay: 0, settleDelay: 0 });
      m.hidden = false;
      var all = options(), at = Math.max(0, all.findIndex(function (o) { return o.id === keep; }));
      all.forEach(function (o, i) { o.setAttribute("aria-selected", i === at ? "true" : "false"); });
      if (all[at]) field.setAttribute("aria-activedescendant", all[at].id);
    });
  });
  // Capture: while the menu is open, Enter / Tab pick a reply instead of sending.
  document.addEventListener("keydown", function (event) {
    var m = menu();
    if (!m || m.hidden || event.target !== $("reply-text")) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") { event.preventDefault(); select(event.key === "ArrowDown" ? 1 : -1); }
    else if ((event.key === "Enter" || event.key === "Tab") && options().length) {
      event.preventDefault();
      event.stopPropagation();
      choose(m.querySelector("[aria-selected=true]") || options()[0]);
    } else if (event.key === "Escape") { event.stopPropagation(); closeMenu(); }
  }, true);
  document.addEventListener("mousedown", function (event) {
    var option = event.target instanceof Element && event.target.closest("#canned-menu [role=option]");
    if (option) { event.preventDefault(); choose(option); }
  });

  // --- the "why" panel, "send again" ----------------------------------------------------------
  document.addEventListener("click", function (event) {
    var close = event.target instanceof Element && event.target.closest("[data-why-close]");
    if (!close) return;
    var panel = $("why-panel");
    panel.hidden = true;
    panel.innerHTML = "";
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var el = event.detail.elt;
    if (!(el instanceof Element) || !el.matches("[data-retry]")) return;
    var cid = openId(), mid = el.getAttribute("data-retry");
    if (!event.detail.successful) { el.disabled = true; return; }
    get("/inbox/" + cid + "/messages/" + mid).then(function (text) {
      var old = $("msg-" + mid);
      if (text && old) htmx.swap(old, text, { swapStyle: "outerHTML", swapDelay: 0, settleDelay: 0 });
    });
  });

  // --- "new messages": the conversation opens at the marker, not at the bottom -----------------
  document.addEventListener("htmx:load", function (event) {
    var marker = event.target instanceof Element && (event.target.id === "new-marker" ? event.target : event.target.querySelector("#new-marker"));
    var thread = $("thread");
    if (!marker || !thread || thread._marked) return;
    thread._marked = true;
    setTimeout(function () { thread.scrollTop = Math.max(0, marker.offsetTop - thread.offsetTop - 16); }, 0);
  });
})();
