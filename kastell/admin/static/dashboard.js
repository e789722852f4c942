// Dashboard charts: CPU and memory of the last hour, and stored bytes, from /admin/history.json (uPlot).
// No inline script (the console's Content-Security-Policy forbids it); the page works without this file.
(function () {
  "use strict";
  var holder = document.getElementById("history-chart");
  if (!holder || typeof uPlot === "undefined") return;
  var plot = null;

  function size() {
    return { width: Math.max(280, holder.clientWidth), height: 220 };
  }

  function draw(series) {
    var data = [series.time, series.cpu, series.memory];
    if (plot) { plot.setData(data); return; }
    var s = size();
    plot = new uPlot({
      width: s.width, height: s.height,
      scales: {
        // Always the last hour, so that a few samples do not stretch over an auto-scaled axis.
        x: { time: true, range: function () { var now = Date.now() / 1000; return [now - 3600, now + 30]; } },
        y: { range: [0, 100] }
      },
      series: [
        {},
        { label: "CPU %", stroke: "#0b5cad", width: 2 },
        { label: "Memory %", stroke: "#a4161a", width: 2 }
      ],
      axes: [{}, { values: function (u, ticks) { return ticks.map(function (v) { return v + "%"; }); } }]
    }, data, holder);
    window.addEventListener("resize", function () { plot.setSize(size()); });
  }

  function load() {
    fetch("/admin/history.json", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (series) { if (series) draw(series); })
      .catch(function () { /* a missed refresh is shown by the next one */ });
  }

  load();
  setInterval(load, 10000);
})();
