// The overview's daily charts, drawn by Chart.js (served from our own static files) from the
// figures the page embeds with json_script. Configuration only: Chart.js does the drawing.
(function () {
  "use strict";
  var source = document.getElementById("daily-series");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var series = JSON.parse(source.textContent);
  var days = series.map(function (row) { return row.day; });
  var column = function (name) {
    return series.map(function (row) { return Number(row[name]); });
  };
  var common = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { position: "bottom" } },
  };
  var axes = function (left, right) {
    return {
      x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } },
      y: { beginAtZero: true, position: "left", title: { display: true, text: left } },
      y1: {
        beginAtZero: true,
        position: "right",
        grid: { drawOnChartArea: false },
        title: { display: true, text: right },
      },
    };
  };
  new Chart(document.getElementById("chart-traffic"), {
    data: {
      labels: days,
      datasets: [
        { type: "bar", label: "Sends", data: column("sends"), yAxisID: "y",
          backgroundColor: "rgba(80, 120, 200, 0.45)" },
        { type: "line", label: "Unique clicks", data: column("unique_clicks"), yAxisID: "y1",
          borderColor: "#d9622b", backgroundColor: "#d9622b", pointRadius: 2 },
      ],
    },
    options: Object.assign({ scales: axes("Sends", "Unique clicks") }, common),
  });
  new Chart(document.getElementById("chart-revenue"), {
    data: {
      labels: days,
      datasets: [
        { type: "bar", label: "Conversions", data: column("conversions"), yAxisID: "y",
          backgroundColor: "rgba(60, 160, 110, 0.5)" },
        { type: "line", label: "Revenue", data: column("revenue"), yAxisID: "y1",
          borderColor: "#6a4fb3", backgroundColor: "#6a4fb3", pointRadius: 2 },
      ],
    },
    options: Object.assign({ scales: axes("Conversions", "Revenue") }, common),
  });
})();
