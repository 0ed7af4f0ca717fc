// The charts of the devices, OS, countries and variants pages, drawn by Chart.js (served
// from our own static files) from the figures the page embeds with json_script.
// Configuration only: Chart.js does the drawing (and sets labels as text, never as HTML).
(function () {
  "use strict";
  var source = document.getElementById("trait-chart");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var points = JSON.parse(source.textContent);
  var column = function (name) {
    return points.map(function (point) { return Number(point[name]); });
  };
  var datasets = [
    { label: "Unique clicks", data: column("unique_clicks"), backgroundColor: "rgba(80, 120, 200, 0.6)" },
    { label: "Conversions", data: column("conversions"), backgroundColor: "rgba(60, 160, 110, 0.6)" },
  ];
  if (points.length && points[0].sends !== null) {  // variants: a send is a link with one
    datasets.unshift({ label: "Sends", data: column("sends"), backgroundColor: "rgba(150, 150, 150, 0.5)" });
  }
  new Chart(document.getElementById("chart-traits"), {
    type: "bar",
    data: { labels: points.map(function (point) { return point.label; }), datasets: datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
})();
