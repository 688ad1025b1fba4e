// asdbench report: sortable tables, the charts (Chart.js, from the JSON each chart embeds), the row comparison.
"use strict";

// Sort a table's body by the clicked column: numbers by value, text by label; a second click reverses. A cell's
// data-sort holds what it sorts by (a mean as a fraction); an empty one (missing) always goes last.
function sortBy(table, header) {
  const column = Array.from(header.parentNode.children).indexOf(header);
  const ascending = header.getAttribute("aria-sort") !== "ascending";
  const body = table.tBodies[0];
  const key = (row) => {
    const cell = row.children[column];
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  };
  const rows = Array.from(body.rows);
  const numeric = rows.every((row) => key(row) === "" || !Number.isNaN(Number(key(row))));
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === "" || y === "") return (x === "") - (y === "");
    const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
    return ascending ? order : -order;
  });
  rows.forEach((row) => body.appendChild(row));
  header.parentNode.querySelectorAll("th").forEach((th) => th.removeAttribute("aria-sort"));
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
}

document.querySelectorAll("table.sortable").forEach((table) => {
  table.querySelectorAll("thead th").forEach((header) => {
    header.tabIndex = 0;
    header.title = "sort by " + header.textContent;
    header.addEventListener("click", () => sortBy(table, header));
    header.addEventListener("keydown", (event) => { if (event.key === "Enter") sortBy(table, header); });
  });
});

document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
  const spec = JSON.parse(document.getElementById("chart-" + canvas.dataset.chart).textContent);
  new Chart(canvas, {
    type: "bar",
    data: {labels: spec.labels, datasets: spec.datasets},
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: {y: {min: 0, max: 100, title: {display: true, text: spec.unit}}},
      plugins: {legend: {position: "bottom"}},
    },
  });
});

const chooser = document.getElementById("compare-with");
if (chooser) {
  chooser.addEventListener("change", () => {
    document.querySelectorAll("p.comparison").forEach((p) => { p.hidden = p.dataset.index !== chooser.value; });
  });
}
