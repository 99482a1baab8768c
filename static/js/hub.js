// Behaviour every page declares with data attributes instead of inline handlers (onclick=, onchange=,
// javascript: URLs), which the Content-Security-Policy refuses. Listeners sit on the document, so controls in
// content htmx swaps in later work too; charts are drawn on load and on every htmx:load.
(function () {
  "use strict";

  function closest(event, selector) {
    return event.target && event.target.closest ? event.target.closest(selector) : null;
  }

  // <select data-autosubmit>: choosing an option submits its form (the period pickers).
  document.addEventListener("change", function (event) {
    var field = closest(event, "[data-autosubmit]");
    if (field && field.form) field.form.submit();
  });

  document.addEventListener("click", function (event) {
    // <button data-toggle-body-class="nav-open">: the narrow screen's menu button.
    var toggle = closest(event, "[data-toggle-body-class]");
    if (toggle) {
      document.body.classList.toggle(toggle.dataset.toggleBodyClass);
      return;
    }
    // <button data-remove-closest="form">: drop the enclosing element (the lost reason's "keep it where it is").
    var remover = closest(event, "[data-remove-closest]");
    if (remover) {
      var gone = remover.closest(remover.dataset.removeClosest);
      if (gone) gone.remove();
      return;
    }
    // <a data-history-back href="…">: back where the person came from; the href when there is no history.
    var back = closest(event, "a[data-history-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // ------------------------------------------------------------------------------------------------ charts
  // salesops/charts.py writes <div data-chart="ID"> and the figure in <script type="application/json" id="ID">.
  function onClick(plot) {
    // data-chart-links: a point's customdata is the same-site address of its deals (the drill-down).
    if (plot.hasAttribute("data-chart-links")) {
      plot.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        var url = point && point.customdata;
        if (Array.isArray(url)) url = url[0];
        if (typeof url !== "string") return;
        var target = new URL(url, window.location.href); // same site only ("//host" and "/\\host" are other sites)
        if (target.origin === window.location.origin) window.location.href = target.href;
      });
    }
    // An enclosing [data-chart-click-get]: a point's customdata is appended to that address and the answer is
    // swapped into [data-chart-click-target] (the waterfall's movements); keys in data-chart-click-skip are not.
    var holder = plot.closest("[data-chart-click-get]");
    if (holder && window.htmx) {
      var skip = (holder.dataset.chartClickSkip || "").split(" ");
      plot.on("plotly_click", function (event) {
        var key = event.points && event.points[0] && event.points[0].customdata;
        if (typeof key !== "string" || skip.indexOf(key) >= 0) return;
        window.htmx.ajax("GET", holder.dataset.chartClickGet + encodeURIComponent(key), holder.dataset.chartClickTarget);
      });
    }
  }

  function drawCharts(root) {
    if (!window.Plotly || !root || !root.querySelectorAll) return;
    var plots = Array.prototype.slice.call(root.querySelectorAll("[data-chart]"));
    if (root.matches && root.matches("[data-chart]")) plots.push(root);
    plots.forEach(function (plot) {
      var source = document.getElementById(plot.dataset.chart);
      if (!source || plot.dataset.chartDrawn) return;
      plot.dataset.chartDrawn = "true";
      var spec = JSON.parse(source.textContent);
      window.Plotly.newPlot(plot, spec.figure.data, spec.figure.layout, spec.config).then(function () {
        onClick(plot);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
  });
  document.addEventListener("htmx:load", function (event) {
    drawCharts(event.target);
  });
})();
