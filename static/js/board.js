// Kanban drag and drop: dropping a card on a column POSTs the move through htmx; the server answers a
// message (moved, or which exit criterion is missing) and a trigger that reloads the columns.
(function () {
  function moveUrl(board, dealId) {
    return board.dataset.moveUrlTemplate.replace("/0/", "/" + dealId + "/");
  }
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card[draggable=true]");
    if (!card) return;
    event.dataTransfer.setData("text/plain", card.dataset.dealId);
    event.dataTransfer.effectAllowed = "move";
    card.classList.add("dragging");
  });
  document.addEventListener("dragend", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card");
    if (card) card.classList.remove("dragging");
  });
  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (!column) return;
    event.preventDefault();
    column.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (!column) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    var dealId = event.dataTransfer.getData("text/plain");
    var board = column.closest(".board");
    if (!dealId || !board) return;
    var card = board.querySelector('[data-deal-id="' + dealId + '"]');
    if (card && card.closest(".column") === column) return;
    htmx.ajax("POST", moveUrl(board, dealId), {
      target: "#board-messages",
      swap: "innerHTML",
      values: { stage: column.dataset.stageId },
    });
  });
  // After any answer (moved or refused) reload the columns as the URL's filters describe them.
  ["deal-moved", "deal-move-refused"].forEach(function (name) {
    document.body.addEventListener(name, function () {
      htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#board", swap: "innerHTML" });
    });
  });
})();
