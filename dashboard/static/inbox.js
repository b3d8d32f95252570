// Keep the inbox current without a reload: poll /api/inbox every 3 s (a new draft shows
// within 5 s), never two requests at once, back off while the server is unreachable, and
// stop with a notice when the session has ended. Rows are built with textContent only, so
// transcript text is never parsed as HTML.
(function () {
  "use strict";
  var table = document.getElementById("inbox");
  if (!table) return;
  var POLL_MS = 3000, MAX_BACKOFF_MS = 30000;
  var url = table.dataset.poll;
  var body = table.querySelector("tbody");
  var live = document.getElementById("live-state");
  var alerts = document.getElementById("sms-alerts");
  var alertRows = document.getElementById("sms-alert-rows");
  var soundToggle = document.getElementById("sound-toggle");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var known = {};
  var inFlight = false, failures = 0, timer = null, stopped = false, audio = null;

  Array.prototype.forEach.call(body.querySelectorAll("tr[data-id]"), function (tr) {
    known[tr.dataset.id] = true;
  });

  if (soundToggle) {
    soundToggle.checked = window.localStorage.getItem("dutyline.sound") === "on";
    soundToggle.addEventListener("change", function () {
      window.localStorage.setItem("dutyline.sound", soundToggle.checked ? "on" : "off");
      if (soundToggle.checked) beep();  // the click lets the page play sound later
    });
  }

  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.6);
    } catch (e) { /* no audio device: the red row is the alert */ }
  }

  function cell(tr, value, className) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "" : String(value);
    if (className) td.className = className;
    tr.appendChild(td);
    return td;
  }

  function row(call, isNew) {
    var tr = document.createElement("tr");
    tr.dataset.id = call.id;
    tr.className = (call.urgent ? "urgent" : "") + (isNew ? " new" : "");
    cell(tr, call.time, "c-time");
    var td = cell(tr, "");
    var a = document.createElement("a");
    a.href = "/calls/" + encodeURIComponent(call.id);
    a.textContent = call.caller;
    td.appendChild(a);
    cell(tr, call.leader);
    cell(tr, call.duration_text, "c-num");  // worded on the server, in the page's language
    cell(tr, call.excerpt, "excerpt");
    var state = cell(tr, call.state_label, "state state-" + (call.live ? "live" : call.status));
    if (call.case_url) {
      var link = document.createElement("a");
      link.className = "case-link";
      link.href = call.case_url;
      link.textContent = call.case_number;
      state.appendChild(document.createTextNode(" "));
      state.appendChild(link);
    }
    if (call.failure_label) {
      // Why the call failed (or waits), translated on the server.
      var why = document.createElement("small");
      why.className = "why";
      why.textContent = call.failure_label;
      state.appendChild(why);
    }
    return tr;
  }

  function renderCalls(calls) {
    var fresh = document.createDocumentFragment();
    var urgentNew = false;
    calls.forEach(function (call) {
      var isNew = !known[call.id];
      if (isNew && call.urgent) urgentNew = true;
      known[call.id] = true;
      fresh.appendChild(row(call, isNew));
    });
    if (!calls.length) {
      var tr = document.createElement("tr");
      tr.className = "empty";
      var td = cell(tr, table.dataset.empty);
      td.colSpan = 6;
      fresh.appendChild(tr);
    }
    body.replaceChildren(fresh);
    if (urgentNew && soundToggle && soundToggle.checked) beep();
  }

  function renderAlerts(items) {
    if (!alerts || !alertRows) return;
    alerts.classList.toggle("hidden", !items.length);
    var fresh = document.createDocumentFragment();
    items.forEach(function (n) {
      var div = document.createElement("div");
      div.className = "alert-row";
      div.dataset.id = n.id;
      var span = document.createElement("span");
      span.textContent = [n.case_number, n.to, n.state_label].filter(Boolean).join(" · ") +
        (n.error_code ? " (" + alerts.dataset.error + " " + n.error_code + ")" : "");
      div.appendChild(span);
      var form = document.createElement("form");
      form.method = "post"; form.action = n.resend_url; form.className = "inline";
      var token = document.createElement("input");
      token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
      var button = document.createElement("button");
      button.className = "small"; button.textContent = alerts.dataset.resend;
      form.appendChild(token); form.appendChild(button);
      div.appendChild(form);
      var call = document.createElement("a");
      call.className = "button small"; call.href = "tel:" + n.to; call.textContent = alerts.dataset.call;
      div.appendChild(call);
      fresh.appendChild(div);
    });
    alertRows.replaceChildren(fresh);
  }

  function schedule() {
    if (stopped) return;
    var delay = failures ? Math.min(POLL_MS * Math.pow(2, failures), MAX_BACKOFF_MS) : POLL_MS;
    timer = window.setTimeout(refresh, delay);
  }

  function refresh() {
    if (inFlight || stopped) return;
    inFlight = true;
    fetch(url, { credentials: "same-origin", cache: "no-store",
                 headers: { "Accept": "application/json" }, redirect: "manual" })
      .then(function (r) {
        if (r.status === 401 || r.type === "opaqueredirect") {
          stopped = true;
          if (live) live.textContent = table.dataset.signedOut;
          return null;
        }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        if (!data) return;
        failures = 0;
        if (live) live.textContent = "";
        renderCalls(data.calls);
        renderAlerts(data.failed_sms || []);
        table.dataset.refreshed = String(Date.now());
      })
      .catch(function () {
        failures += 1;
        if (live) live.textContent = table.dataset.offline;
      })
      .then(function () { inFlight = false; schedule(); });
  }

  // Refresh at once when the duty officer comes back to the tab.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !inFlight) { window.clearTimeout(timer); refresh(); }
  });
  schedule();
})();
