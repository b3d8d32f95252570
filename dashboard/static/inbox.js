// Poll the inbox every 3 s so a new draft shows up without a reload (target: within 5 s).
(function () {
  var table = document.getElementById("inbox");
  if (!table) return;
  var url = table.dataset.poll;
  var known = {};
  table.querySelectorAll("tbody tr[data-id]").forEach(function (tr) { known[tr.dataset.id] = true; });
  function text(v) { return v === null || v === undefined ? "" : String(v); }
  function row(call) {
    var tr = document.createElement("tr");
    tr.dataset.id = call.id;
    if (call.urgent) tr.className = "urgent";
    var cells = [new Date(call.started_at).toLocaleString(), null, call.leader,
                 call.duration ? call.duration + "s" : "", call.excerpt,
                 call.status + (call.status === "transcribing" ? " " + Math.round(call.progress * 100) + "%" : "")];
    cells.forEach(function (value, i) {
      var td = document.createElement("td");
      if (i === 1) {
        var a = document.createElement("a");
        a.href = "/calls/" + call.id;
        a.textContent = text(call.caller);
        td.appendChild(a);
      } else {
        td.textContent = text(value);  // textContent: transcript text is never parsed as HTML
      }
      if (i === 5) td.className = "state state-" + call.status;
      tr.appendChild(td);
    });
    return tr;
  }
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var body = table.querySelector("tbody");
        var fresh = document.createDocumentFragment();
        var urgentNew = false;
        data.calls.forEach(function (call) {
          if (!known[call.id] && call.urgent) urgentNew = true;
          known[call.id] = true;
          fresh.appendChild(row(call));
        });
        body.replaceChildren(fresh);
        if (urgentNew && window.localStorage.getItem("dutyline.sound") === "on") {
          try { new AudioContext().resume(); } catch (e) {}
        }
      })
      .catch(function () {});
  }
  setInterval(refresh, 3000);
})();
