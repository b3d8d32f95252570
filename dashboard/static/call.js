// The call page: click a word to seek, the word being played is highlighted, keyboard
// shortcuts (Space play/pause, J back 5 s, N next draft), directory typeahead (which never
// replaces a number already in the phone field), the "another leader needs a reason" rule,
// a live preview of the SMS with its segments and the next case number, and corrections
// saved in place that re-draft only the fields the officer has not touched.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var words = Array.prototype.slice.call(document.querySelectorAll("#transcript .word"));
  var starts = words.map(function (w) { return parseFloat(w.dataset.start); });
  var current = null;

  function wordAt(t) {
    // Binary search for the last word starting at or before t.
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    if (found < 0 || t >= parseFloat(words[found].dataset.end) + 0.15) return null;
    return words[found];
  }

  function highlight() {
    var w = wordAt(player.currentTime);
    if (w === current) return;
    if (current) current.classList.remove("current");
    if (w) w.classList.add("current");
    current = w;
  }

  if (player) {
    words.forEach(function (w) {
      w.setAttribute("role", "button");
      w.tabIndex = 0;
      w.addEventListener("click", function () {
        player.currentTime = parseFloat(w.dataset.start);
        highlight();
        var p = player.play();
        if (p && p.catch) p.catch(function () {});
      });
    });
    player.addEventListener("timeupdate", highlight);
    player.addEventListener("seeked", highlight);
  }

  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    // Leave keys alone where they already mean something: typing, buttons, the player itself.
    if (["input", "textarea", "select", "button", "summary", "audio"].indexOf(tag) >= 0 ||
        e.ctrlKey || e.metaKey || e.altKey) return;
    var key = e.key.toLowerCase();
    if (player && (e.key === " " || key === "k")) {
      e.preventDefault();
      if (player.paused) { var p = player.play(); if (p && p.catch) p.catch(function () {}); }
      else player.pause();
    } else if (player && (key === "j" || e.key === "ArrowLeft")) {
      e.preventDefault();
      player.currentTime = Math.max(0, player.currentTime - 5);
    } else if (key === "n") {
      var next = document.getElementById("next-draft");
      if (next) window.location.href = next.href;
    }
  });

  var form = document.getElementById("confirm-form");
  if (!form) return;
  var nameInput = document.getElementById("caller_name");
  var unitInput = document.getElementById("caller_unit");
  var phoneInput = document.getElementById("caller_phone");
  var liaisonInput = document.getElementById("liaison_id");
  var leaderSelect = document.getElementById("leader_id");
  var reasonLabel = document.getElementById("reason-label");
  var reasonInput = document.getElementById("route_reason");
  var summary = document.getElementById("summary");
  var list = document.getElementById("typeahead");
  var defaultLeader = form.dataset.defaultLeader;

  function checkLeader() {
    // Another leader than the liaison's own needs a reason, which the audit log keeps.
    var other = defaultLeader && leaderSelect.value && leaderSelect.value !== defaultLeader;
    reasonLabel.classList.toggle("hidden", !other);
    reasonInput.required = !!other;
  }
  leaderSelect.addEventListener("change", checkLeader);
  checkLeader();

  var urgentBox = document.getElementById("urgent");
  var alternative = document.getElementById("phone-alternative");
  // Fields the officer has typed in or chosen keep their value when a correction re-drafts.
  [nameInput, unitInput, phoneInput].forEach(function (el) {
    el.addEventListener("input", function () { el.dataset.touched = "1"; });
  });
  urgentBox.addEventListener("change", function () { urgentBox.dataset.touched = "1"; });

  function digits(phone) { return String(phone || "").replace(/\D/g, "").slice(-11); }
  function offerPhone(phone) {
    // Never replace a number already in the field (the caller may have dictated a better
    // one): show the directory's beside it, one click away.
    if (!phone || digits(phone) === digits(phoneInput.value)) {
      alternative.classList.add("hidden");
      return;
    }
    if (!phoneInput.value.trim()) {
      phoneInput.value = phone;
      alternative.classList.add("hidden");
      return;
    }
    alternative.querySelector("span").textContent =
      alternative.dataset.template.replace("{phone}", phone);
    alternative.dataset.phone = phone;
    alternative.classList.remove("hidden");
  }
  document.getElementById("use-directory-phone").addEventListener("click", function () {
    phoneInput.value = alternative.dataset.phone;
    phoneInput.dataset.touched = "1";
    alternative.classList.add("hidden");
  });

  var typeTimer = null;
  function closeList() { list.classList.add("hidden"); list.replaceChildren(); }
  function choose(item) {
    if (item.kind === "liaison") {
      nameInput.value = item.name;
      unitInput.value = item.unit || item.address || "";
      nameInput.dataset.touched = unitInput.dataset.touched = "1";
      offerPhone(item.phone);
      liaisonInput.value = item.id;
      if (item.leader_id) {
        defaultLeader = String(item.leader_id);
        leaderSelect.value = defaultLeader;
      }
    } else {
      unitInput.value = item.name;
      unitInput.dataset.touched = "1";
    }
    checkLeader();
    closeList();
    preview();
  }
  nameInput.addEventListener("input", function () {
    liaisonInput.value = "";
    window.clearTimeout(typeTimer);
    var q = nameInput.value.trim();
    if (!q) { closeList(); return; }
    typeTimer = window.setTimeout(function () {
      fetch(form.dataset.directory + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) {
          var fresh = document.createDocumentFragment();
          items.forEach(function (item) {
            var li = document.createElement("li");
            li.setAttribute("role", "option");
            li.textContent = item.name + (item.kind === "liaison" ? " · " + (item.unit || "") + " " + (item.phone || "") : "");
            li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(item); });
            fresh.appendChild(li);
          });
          list.replaceChildren(fresh);
          list.classList.toggle("hidden", !items.length);
        })
        .catch(closeList);
    }, 200);
  });
  nameInput.addEventListener("blur", function () { window.setTimeout(closeList, 150); });

  var previewTimer = null;
  var count = document.getElementById("sms-count");
  var bodyBox = document.getElementById("sms-body");
  var numberLine = document.getElementById("sms-number");
  var template = document.getElementById("sms-preview").dataset.template;
  function preview() {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(function () {
      var q = "?caller_name=" + encodeURIComponent(nameInput.value) +
              "&caller_unit=" + encodeURIComponent(unitInput.value) +
              "&summary=" + encodeURIComponent(summary.value);
      fetch(form.dataset.preview + q, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          count.textContent = template.replace("{segments}", data.segments).replace("{chars}", data.chars);
          count.classList.toggle("warn", data.segments > 1);
          bodyBox.textContent = data.body;
          count.dataset.segments = data.segments;
          numberLine.textContent = numberLine.dataset.template.replace("{number}", data.number);
        })
        .catch(function () {});
    }, 250);
  }
  [nameInput, unitInput, summary].forEach(function (el) { el.addEventListener("input", preview); });
  preview();

  // Saving a correction in place: the server drafts the caller details again from it (a
  // job), and the suggestions replace only the fields the officer has not touched.
  var transcriptForm = document.getElementById("transcript-form");
  var note = document.getElementById("redraft-note");
  var corrected = document.getElementById("corrected");
  var DRAFT_POLL_MS = 500, DRAFT_POLLS = 40;

  function applySuggestions(data) {
    [[nameInput, "caller_name"], [unitInput, "caller_unit"]].forEach(function (pair) {
      if (!pair[0].dataset.touched) pair[0].value = data[pair[1]] || "";
    });
    if (!nameInput.dataset.touched) liaisonInput.value = data.liaison_id || "";
    if (!phoneInput.dataset.touched) phoneInput.value = data.caller_phone || "";
    if (!urgentBox.dataset.touched) urgentBox.checked = !!data.urgent;
    preview();
  }

  function pollDraft(url, left) {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.current) {
          applySuggestions(data);
          note.textContent = transcriptForm.dataset.redrafted;
        } else if (left > 0) {
          window.setTimeout(function () { pollDraft(url, left - 1); }, DRAFT_POLL_MS);
        } else {
          note.textContent = transcriptForm.dataset.unchanged;
        }
      })
      .catch(function () { note.textContent = transcriptForm.dataset.unchanged; });
  }

  if (transcriptForm) {
    transcriptForm.addEventListener("submit", function (e) {
      e.preventDefault();
      fetch(transcriptForm.action, { method: "POST", body: new FormData(transcriptForm),
                                     credentials: "same-origin",
                                     headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (saved) {
          corrected.querySelector("span").textContent = saved.text;
          corrected.classList.toggle("hidden", !saved.text);
          note.textContent = transcriptForm.dataset.saved;
          pollDraft(saved.draft, DRAFT_POLLS);
        })
        .catch(function () { transcriptForm.submit(); });  // the ordinary post still works
    });
  }
})();

// While the caller is still on the line, show the text heard so far: poll the call's live
// text every second, and reload once the draft is ready (the form opens then).
(function () {
  "use strict";
  var live = document.getElementById("live-text");
  if (!live) return;
  var POLL_MS = 1000, inFlight = false;
  var timer = window.setInterval(function () {
    if (inFlight) return;
    inFlight = true;
    fetch(live.dataset.poll, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        inFlight = false;
        if (!data) return;
        live.textContent = data.text;
        if (!data.on_the_line) {
          window.clearInterval(timer);
          if (data.status === "draft") window.location.reload();
        }
      })
      .catch(function () { inFlight = false; });
  }, POLL_MS);
})();
