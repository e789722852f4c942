// Dashboard charts: CPU and memory of the last hour, and messages received, from /admin/history.json (uPlot).
// No inline script (the console's Content-Security-Policy forbids it); the page works without this file.
(function () {
  "use strict";
  var holder = document.getElementById("history-chart");
  if (!holder || typeof uPlot === "undefined") return;
  var plot = null;
  var mailHolder = document.getElementById("throughput-chart");
  var mailPlot = null;

  function size() {
    return { width: Math.max(280, holder.clientWidth), height: 220 };
  }

  function lastHour() { var now = Date.now() / 1000; return [now - 3600, now + 30]; }

  function drawMail(series) {
    if (!mailHolder || !series.received) return;
    var data = [series.time, series.received];
    if (mailPlot) { mailPlot.setData(data); return; }
    var s = { width: Math.max(280, mailHolder.clientWidth), height: 160 };
    mailPlot = new uPlot({
      width: s.width, height: s.height,
      scales: {
        x: { time: true, range: lastHour },
        y: { range: function (u, min, max) { return [0, Math.max(5, max)]; } }
      },
      series: [{}, { label: "Messages received", stroke: "#1e6b32", fill: "rgba(30,107,50,0.15)", width: 2 }]
    }, data, mailHolder);
    window.addEventListener("resize", function () {
      mailPlot.setSize({ width: Math.max(280, mailHolder.clientWidth), height: 160 });
    });
  }

  function draw(series) {
    drawMail(series);
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
