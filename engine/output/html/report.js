// The HTML report's charts (inlined into every page at build time, after Chart.js 3.9.1).
// Reads the page's data (#ringload-data, written by engine/output/html_report.cpp), draws
// each chart whose canvas the page has, then writes on each canvas what it drew:
// data-points (data points plotted), data-pixels (non-transparent pixels) and data-ink
// (pixels in a dataset's colour), and on <body> data-render ("done" or the error).
"use strict";
(function () {
  const palette = [[37, 99, 235], [234, 88, 12], [22, 163, 74], [220, 38, 38], [124, 58, 237], [13, 148, 136]];
  const rgb = (c, a) => (a === undefined ? `rgb(${c[0]},${c[1]},${c[2]})` : `rgba(${c[0]},${c[1]},${c[2]},${a})`);
  const blue = palette[0], orange = palette[1], green = palette[2], red = palette[3], purple = palette[4],
        teal = palette[5];
  const ms = (us) => us / 1000;

  function line(label, color, points, extra) {
    return Object.assign({label: label, data: points, borderColor: rgb(color), backgroundColor: rgb(color),
                          borderWidth: 2, pointRadius: points.length > 60 ? 0 : 2, tension: 0}, extra || {});
  }

  function base(xTitle, yTitle) {
    return {
      animation: false, responsive: true, maintainAspectRatio: false, normalized: true,
      interaction: {mode: "nearest", intersect: false},
      plugins: {legend: {labels: {boxWidth: 12}}},
      scales: {x: {type: "linear", title: {display: true, text: xTitle}},
               y: {beginAtZero: true, title: {display: true, text: yTitle}}},
    };
  }

  // [t, v] columns of one timeline as {x, y} points.
  function series(tl, key, scale) {
    return tl.t.map((t, i) => ({x: t, y: scale ? scale(tl[key][i]) : tl[key][i]}));
  }

  function percentLabel(x) {
    const p = 100 * (1 - 1 / x);
    return (Math.round(p * 1e6) / 1e6) + "%";
  }

  function percentileOptions() {
    const o = base("percentile", "latency (ms)");
    o.scales.x = {type: "logarithmic", min: 1, title: {display: true, text: "percentile (log scale of 1 / (1 - p))"},
                  ticks: {autoSkip: false, maxRotation: 0, callback: function (v) {
                    const l = Math.log10(v);
                    return Math.abs(l - Math.round(l)) < 1e-9 ? percentLabel(v) : "";
                  }}};
    o.plugins.tooltip = {callbacks: {label: (c) => `${c.dataset.label}: ${c.raw.p.toFixed(4).replace(/\.?0+$/, "")}%` +
                                                   ` ${c.raw.y.toFixed(3)} ms`}};
    return o;
  }

  function spectrum(label, color, points) {
    return line(label, color, points.map((p) => ({x: p[0], y: ms(p[1]), p: p[2]})), {pointRadius: 0, stepped: false});
  }

  function runCharts(run) {
    const tl = run.timeline, open = run.schedule !== "closed";
    const charts = {};
    const rps = [line("achieved", blue, series(tl, "rps"))];
    if (open) {
      const adaptive = run.schedule === "adaptive";
      // Chart.js "after": up at the previous point, then level: each window's rate over the window.
      rps.push(line(adaptive ? "target (adaptive steps)" : "target", orange, series(tl, "target"),
                    {borderDash: [6, 4], stepped: adaptive ? "after" : false}));
    }
    charts["chart-rps"] = {type: "line", data: {datasets: rps}, options: base("seconds since start", "requests/s")};
    charts["chart-latency"] = {type: "line", options: base("seconds since start", "latency (ms)"), data: {datasets: [
      line("p50", blue, series(tl, "p50", ms)), line("p90", green, series(tl, "p90", ms)),
      line("p99", orange, series(tl, "p99", ms)), line("max", red, series(tl, "max", ms))]}};
    const colors = [purple, green, blue, orange, red];
    const status = [];
    ["c1xx", "c2xx", "c3xx", "c4xx", "c5xx"].forEach((key, i) => {
      if (tl[key].reduce((a, b) => a + b, 0) > 0)
        status.push({type: "bar", label: key.slice(1), data: tl[key].slice(), backgroundColor: rgb(colors[i]),
                     borderColor: rgb(colors[i]), stack: "responses", order: 2});
    });
    status.push(Object.assign(line("errors", teal, tl.errors.slice()), {type: "line", order: 1}));
    const so = base("seconds since start", "per window");
    so.scales.x = {type: "category", stacked: true, title: {display: true, text: "window end (s since start)"}};
    so.scales.y.stacked = true;
    charts["chart-status"] = {type: "bar", data: {labels: tl.t.map((t) => t.toFixed(1)), datasets: status}, options: so};
    const specColors = [blue, green, red];
    charts["chart-percentiles"] = {type: "line", options: percentileOptions(), data: {
      datasets: run.spectra.map((s, i) => spectrum(s.label, specColors[i % 3], s.points))}};
    return charts;
  }

  function compareCharts(runs) {
    const color = (i) => palette[i % palette.length];
    return {
      "chart-percentiles": {type: "line", options: percentileOptions(), data: {
        datasets: runs.map((r, i) => spectrum(r.name, color(i), r.spectra[0].points))}},
      "chart-rps": {type: "line", options: base("seconds since start", "requests/s"), data: {
        datasets: runs.map((r, i) => line(r.name, color(i), series(r.timeline, "rps")))}},
      "chart-p99": {type: "line", options: base("seconds since start", "latency p99 (ms)"), data: {
        datasets: runs.map((r, i) => line(r.name, color(i), series(r.timeline, "p99", ms)))}},
    };
  }

  // What a drawn canvas holds: all non-transparent pixels, and those in a palette colour.
  function measure(canvas) {
    const ctx = canvas.getContext("2d");
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let pixels = 0, ink = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] === 0) continue;
      pixels++;
      if (px[i + 3] < 200) continue;
      for (const c of palette) {
        if (Math.abs(px[i] - c[0]) + Math.abs(px[i + 1] - c[1]) + Math.abs(px[i + 2] - c[2]) <= 30) { ink++; break; }
      }
    }
    canvas.dataset.pixels = pixels;
    canvas.dataset.ink = ink;
  }

  function main() {
    const data = JSON.parse(document.getElementById("ringload-data").textContent);
    Chart.defaults.font.size = 12;
    Chart.defaults.color = "#475467";
    const specs = data.mode === "compare" ? compareCharts(data.runs) : runCharts(data.runs[0]);
    const drawn = [];
    for (const id of Object.keys(specs)) {
      const canvas = document.getElementById(id);
      if (!canvas) continue;
      const chart = new Chart(canvas, specs[id]);
      canvas.dataset.points = chart.data.datasets.reduce((n, d) => n + d.data.length, 0);
      drawn.push([canvas, chart]);
    }
    // Measured once the charts have settled at their final size.
    setTimeout(function () {
      try {
        for (const [canvas, chart] of drawn) { chart.draw(); measure(canvas); }
        document.body.dataset.charts = drawn.length;
        document.body.dataset.render = "done";
      } catch (e) {
        failed(e);
      }
    }, 100);
  }

  function failed(e) {
    document.body.dataset.render = "error: " + e;
    const p = document.createElement("p");
    p.id = "render-error";
    p.textContent = "The charts could not be drawn: " + e;
    document.body.insertBefore(p, document.body.firstChild);
  }

  try {
    main();
  } catch (e) {
    failed(e);
  }
})();
