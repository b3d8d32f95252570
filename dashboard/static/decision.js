// The decision form's "add another unit": copy the last implementation row, emptied.
// Without script the form still records a decision with one unit (or none).
(function () {
  "use strict";
  var add = document.getElementById("add-implementation");
  var rows = document.getElementById("implementation-rows");
  if (!add || !rows) return;
  add.hidden = false;
  add.addEventListener("click", function () {
    var all = rows.querySelectorAll(".implementation-row");
    var copy = all[all.length - 1].cloneNode(true);
    copy.querySelectorAll("select, input").forEach(function (field) { field.value = ""; });
    rows.appendChild(copy);
    copy.querySelector("select").focus();
  });
})();
