// New incidents appear in the list without a reload, over server-sent events.
// Without this script (or EventSource) the page still works: its Refresh link reloads it.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var list = document.getElementById("incidents");
  if (!status || !list || !status.dataset.stream || !window.EventSource) return;
  var source = new EventSource(status.dataset.stream);
  var failures = 0;
  source.addEventListener("open", function () {
    failures = 0;
    status.textContent = "Live: new incidents appear here.";
  });
  source.addEventListener("incident", function (ev) {
    var data = JSON.parse(ev.data);
    if (document.getElementById("incident-" + data.id)) return;
    var box = document.createElement("ul");
    box.innerHTML = data.html; // rendered and escaped by the server, as the page itself
    var item = box.firstElementChild;
    if (!item) return;
    item.id = "incident-" + data.id;
    item.classList.add("fresh");
    list.insertBefore(item, list.firstElementChild);
    var count = document.querySelector(".count." + data.priority.toLowerCase());
    var n = count && count.querySelector(".n");
    if (n) {
      n.textContent = String(Number(n.textContent) + 1);
      count.classList.remove("none");
    }
    var empty = document.querySelector(".empty");
    if (empty) empty.remove();
    status.textContent = "New incident #" + data.id + " (" + data.priority + ").";
  });
  source.addEventListener("error", function () {
    failures += 1;
    if (failures >= 3) {
      source.close();
      status.textContent = "Live updates stopped. Refresh to see new incidents.";
    }
  });
})();
