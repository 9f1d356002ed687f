// The inbox, live: events name a row, a message or the header; only that fragment is fetched
// and swapped (the newest request wins). The composer sends with an Idempotency-Key per attempt
// and shows the bubble at once with a clock; `message.status` events turn it into ticks.
(function () {
  "use strict";
  var latest = {};
  var keep = null;

  function $(id) { return document.getElementById(id); }
  function openId() {
    var c = document.querySelector("#pane [data-conversation]");
    return c ? c.getAttribute("data-conversation") : null;
  }
  function filters() { var i = $("inbox-side"); return i ? i.getAttribute("data-filters") || "" : ""; }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; } catch (e) { return ""; }
  }
  function swap(target, html, style) { htmx.swap(target, html, { swapStyle: style, swapDelay: 0, settleDelay: 0 }); }

  // GET a fragment; a later request for the same URL makes the earlier answer stale.
  function fragment(url) {
    var n = (latest[url] || 0) + 1;
    latest[url] = n;
    return fetch(url, { headers: { "HX-Request": "true", Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) {
        if (latest[url] !== n || (!r.ok && r.status !== 204)) return null;
        return r.status === 204 ? "" : r.text().then(function (h) { return latest[url] === n ? h : null; });
      }, function () { return null; });
  }
  function parse(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    return tpl.content.firstElementChild;
  }
  function newer(a, b) {  // rows are ordered by last activity, then id, newest first
    var x = a.getAttribute("data-at"), y = b.getAttribute("data-at");
    return x > y || (x === y && +a.getAttribute("data-id") > +b.getAttribute("data-id"));
  }

  function placeRow(id, html) {
    var list = $("conv-list"), old = $("conv-" + id);
    if (!list || html === null) return;
    if (!html) { if (old) old.remove(); return; }
    var row = parse(html), ref = null;
    var rows = list.querySelectorAll(".conv-row");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i] !== old && newer(row, rows[i])) { ref = rows[i]; break; }
    }
    if (!ref && list.querySelector(".list-more")) { if (old) old.remove(); return; }  // on a later page
    if (old && (old.nextElementSibling === ref || (!ref && !old.nextElementSibling))) swap(old, html, "outerHTML");
    else {
      if (old) old.remove();
      if (ref) swap(ref, html, "beforebegin"); else swap(list, html, "beforeend");
    }
    markOpen();
  }
  function markOpen() {
    var id = openId();
    document.querySelectorAll("#conv-list .conv-row > a").forEach(function (a) {
      if (a.parentNode.getAttribute("data-id") === id) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
  }

  function nearBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 80; }
  function putMessage(html, id, pending) {
    var thread = $("thread");
    if (!thread || !html) return;
    var stick = nearBottom(thread) || pending, old = $("msg-" + id);
    var waiting = thread.querySelector(".msg.pending");
    if (old) { swap(old, html, "outerHTML"); if (pending) pending.remove(); }
    else if (pending && pending.parentNode) swap(pending, html, "outerHTML");
    else if (waiting) swap(waiting, html, "beforebegin");
    else swap(thread, html, "beforeend");
    groupDays(thread);
    if (stick) thread.scrollTop = thread.scrollHeight;
  }
  function message(cid, mid, created) {
    if (cid !== openId() || created === !!$("msg-" + mid)) return;  // new and shown, or not shown
    fragment("/inbox/" + cid + "/messages/" + mid).then(function (html) {
      if (html && cid === openId() && !(created && $("msg-" + mid))) putMessage(html, mid);
    });
  }
  // A header an action swapped in while a refresh was on its way is newer than that refresh.
  var headActions = 0;
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "conv-head") headActions++;
  });
  function header(cid) {
    var before = headActions;
    fragment("/inbox/" + cid + "/header").then(function (html) {
      var head = $("conv-head");
      if (html && head && cid === openId() && before === headActions) swap(head, html, "outerHTML");
    });
  }
  // Intake events leave labels and assignee out (null); people's changes carry them.
  function headerChanged(head, d) {
    if (head.getAttribute("data-mode") !== d.mode) return true;
    if (!Array.isArray(d.label_ids)) return false;
    return head.getAttribute("data-labels") !== d.label_ids.slice().sort(function (a, b) { return a - b; }).join(",") ||
      head.getAttribute("data-assignee") !== (d.assignee_user_id == null ? "" : String(d.assignee_user_id));
  }
  function seen(cid) {
    fetch("/inbox/" + cid + "/seen", { method: "POST", headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" });
  }

  // A label renamed, recoloured or deleted: the chips on the list and in the header.
  function relist() {
    fragment("/inbox/list" + filters()).then(function (html) {
      var list = $("conv-list");
      if (html !== null && list) { swap(list, html, "innerHTML"); markOpen(); }
    });
    var cid = openId();
    if (cid) header(cid);
  }
  function resync() {
    if (!$("inbox")) return;
    relist();
    var cid = openId();
    if (!cid) return;
    fragment("/inbox/" + cid + "/messages").then(function (html) {
      var thread = $("thread");
      if (html === null || !thread || cid !== openId()) return;
      thread.querySelectorAll("li:not(.pending)").forEach(function (li) { li.remove(); });
      swap(thread, html, "afterbegin");
      groupDays(thread);
      thread.scrollTop = thread.scrollHeight;
    });
  }

  document.addEventListener("htmx:sseMessage", function (event) {
    var m = event.detail;
    if (!(event.target instanceof Element) || !event.target.matches("[data-inbox-live]") || !m) return;
    if (m.type === "reset") return resync();
    if (m.type === "label.changed") return relist();
    var d;
    try { d = JSON.parse(m.data).data || {}; } catch (e) { return; }
    var cid = String(d.conversation_id);
    if (m.type === "conversation.updated") {
      fragment("/inbox/rows/" + cid + filters()).then(function (html) { placeRow(cid, html); });
      var head = $("conv-head");
      if (cid === openId() && head && headerChanged(head, d)) header(cid);
      if (cid === openId() && d.unread_count > 0) seen(cid);
    } else if (m.type === "message.created") message(cid, String(d.message_id), true);
    else if (m.type === "message.status") message(cid, String(d.message_id), false);  // message.updated: thread.js
  });
  document.addEventListener("atende:resync", resync);
  document.addEventListener("atende:regroup", function () { if ($("thread")) groupDays($("thread")); });

  // --- the composer ---------------------------------------------------------------------------
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint32Array(4);
    crypto.getRandomValues(a);
    return Array.prototype.join.call(a, "-");
  }
  function pendingBubble(text) {
    var li = parse('<li class="msg out by-operator pending" data-status="queued"><div class="bubble-in">' +
      '<span class="text"></span><span class="meta"><span class="tick tick-queued"><svg viewBox="0 0 16 16" aria-hidden="true">' +
      '<path d="M8 4v4l3 2"/><circle cx="8" cy="8" r="6"/></svg></span></span></div></li>');
    li.setAttribute("data-at", new Date().toISOString());
    li.querySelector(".text").textContent = text;
    return li;
  }
  function showError(form, text) {
    var p = form.querySelector(".send-error");
    p.textContent = text || "";
    p.hidden = !text;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-composer]")) return;
    event.preventDefault();
    var field = form.querySelector("textarea"), text = field.value, thread = $("thread");
    if (!text.trim() || form.getAttribute("data-busy")) return;  // one send at a time
    if (!form._key || form._text !== text) { form._key = newKey(); form._text = text; }
    var body = new URLSearchParams(new FormData(form));
    var pending = pendingBubble(text);
    form.setAttribute("data-busy", "1");
    showError(form, "");
    thread.appendChild(pending);
    groupDays(thread);
    thread.scrollTop = thread.scrollHeight;
    field.value = "";
    function failed(message) {
      pending.remove();
      if (!field.value) field.value = text;
      showError(form, message);
    }
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Idempotency-Key": form._key, "HX-Request": "true", Accept: "text/html" },
    }).then(function (r) {
      return r.text().then(function (html) {
        form.removeAttribute("data-busy");
        if (!r.ok) return failed((parse(html) || {}).textContent || String(r.status));
        form._key = null;
        var id = (parse(html) || pending).getAttribute("data-id");
        putMessage(html, id, pending);
        if (id) message(openId(), id, false);  // ticks that came before this answer
      });
    }, function () {
      form.removeAttribute("data-busy");
      failed(form.querySelector(".send-error").getAttribute("data-offline"));
    });
  });

  // --- times, days, scrolling -----------------------------------------------------------------
  function dayNumber(d) { return Math.floor((d.getTime() - d.getTimezoneOffset() * 60000) / 86400000); }
  function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }
  function fmt(options) { return new Intl.DateTimeFormat(document.documentElement.lang || undefined, options); }
  function relative(n) {
    return cap(new Intl.RelativeTimeFormat(document.documentElement.lang || undefined, { numeric: "auto" }).format(n, "day"));
  }
  function relTimes(root) {
    var today = dayNumber(new Date());
    (root.querySelectorAll ? root : document).querySelectorAll("time[data-rel]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime")), ago = today - dayNumber(d);
      if (isNaN(d)) return;
      el.textContent = ago <= 0 ? fmt({ timeStyle: "short" }).format(d) : ago === 1 ? relative(-1)
        : ago < 7 ? cap(fmt({ weekday: "short" }).format(d)) : fmt({ dateStyle: "short" }).format(d);
    });
  }
  // Days in the reader's time zone (the server only knows UTC).
  function groupDays(thread) {
    var today = dayNumber(new Date()), last = null;
    thread.querySelectorAll("li[data-day]").forEach(function (li) { li.remove(); });
    thread.querySelectorAll("li.msg").forEach(function (li) {
      var d = new Date(li.getAttribute("data-at")), n = dayNumber(d);
      if (isNaN(d) || n === last) return;
      last = n;
      var sep = parse('<li class="day" data-day><span></span></li>');
      sep.firstChild.textContent = today - n < 2 ? relative(n - today) : fmt({ dateStyle: "medium" }).format(d);
      li.parentNode.insertBefore(sep, li);
    });
  }
  setInterval(function () { relTimes(document); }, 60000);

  document.addEventListener("htmx:load", function (event) {
    var root = event.target;
    relTimes(root);
    var thread = root.id === "thread" ? root : root.querySelector && root.querySelector("#thread");
    if (thread && !thread._ready) {  // a conversation opens at its latest message
      thread._ready = true;
      groupDays(thread);
      thread.scrollTop = thread.scrollHeight;
      markOpen();
    }
  });
  // Older history is put above what is on screen, which stays where it was.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var thread = $("thread");
    if (thread && thread.contains(event.detail.target) && event.detail.target.matches(".older")) {
      keep = { thread: thread, fromBottom: thread.scrollHeight - thread.scrollTop };
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!keep) return;
    groupDays(keep.thread);
    keep.thread.scrollTop = keep.thread.scrollHeight - keep.fromBottom;
    keep = null;
  });

  // --- keyboard: j / k through conversations, Esc back to the list on phones ------------------
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element && event.target.closest("#conv-list .conv-row > a");
    if (!link) return;
    document.querySelectorAll("#conv-list [aria-current]").forEach(function (a) { a.removeAttribute("aria-current"); });
    link.setAttribute("aria-current", "true");
  });
  document.addEventListener("keydown", function (event) {
    if (!$("inbox") || event.ctrlKey || event.metaKey || event.altKey) return;
    var el = event.target instanceof Element ? event.target : document.body;
    if (event.key === "Escape" && window.matchMedia("(max-width: 767px)").matches) {
      var back = document.querySelector("#pane [data-back]");
      if (back) { event.preventDefault(); back.click(); }
      return;
    }
    if (el.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === "/" && $("f-q")) { event.preventDefault(); $("f-q").focus(); return; }  // search
    if (event.key !== "j" && event.key !== "k") return;
    var links = Array.prototype.slice.call(document.querySelectorAll("#conv-list .conv-row > a"));
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    if (at < 0) at = links.findIndex(function (a) { return a.getAttribute("aria-current") === "true"; });
    var next = at < 0 ? 0 : Math.max(0, Math.min(links.length - 1, at + (event.key === "j" ? 1 : -1)));
    event.preventDefault();
    links[next].focus();
    if (next !== at || links[next].getAttribute("aria-current") !== "true") links[next].click();
  });
})();
