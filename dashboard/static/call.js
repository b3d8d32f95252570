// Click a word to seek; highlight the word being played. Keys: space play/pause, j back 5 s.
(function () {
  var player = document.getElementById("player");
  var words = Array.prototype.slice.call(document.querySelectorAll("#transcript .word"));
  if (!player) return;
  words.forEach(function (w) {
    w.addEventListener("click", function () {
      player.currentTime = parseFloat(w.dataset.start);
      player.play().catch(function () {});
    });
  });
  player.addEventListener("timeupdate", function () {
    var t = player.currentTime;
    words.forEach(function (w) {
      var on = t >= parseFloat(w.dataset.start) && t < parseFloat(w.dataset.end);
      w.classList.toggle("current", on);
    });
  });
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    if (e.key === " ") { e.preventDefault(); player.paused ? player.play() : player.pause(); }
    if (e.key === "j") { player.currentTime = Math.max(0, player.currentTime - 5); }
  });
})();
