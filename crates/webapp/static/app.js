// Crash Stats: tabs, facet toggles and filter rows. No dependencies.
(function () {
  "use strict";

  function setupTabs(nav) {
    var links = Array.prototype.slice.call(nav.querySelectorAll("a[href^='#']"));
    function show(id) {
      links.forEach(function (a) {
        var target = document.getElementById(a.getAttribute("href").slice(1));
        var on = a.getAttribute("href") === "#" + id;
        a.classList.toggle("active", on);
        if (target) { target.classList.toggle("hidden", !on); }
      });
    }
    links.forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        var id = a.getAttribute("href").slice(1);
        history.replaceState(null, "", "#" + id);
        show(id);
      });
    });
    var wanted = location.hash.slice(1);
    var known = links.some(function (a) { return a.getAttribute("href") === "#" + wanted; });
    if (links.length) { show(known ? wanted : links[0].getAttribute("href").slice(1)); }
  }

  function setupFacets() {
    document.querySelectorAll(".facet > h3").forEach(function (h) {
      h.addEventListener("click", function () {
        var body = h.parentNode.querySelector(".facet-body");
        if (body) { body.classList.toggle("hidden"); h.parentNode.classList.toggle("open"); }
      });
    });
  }

  function setupFilters() {
    var box = document.querySelector(".filters");
    if (!box) { return; }
    var add = document.getElementById("add-filter");
    var template = document.getElementById("filter-row-template");
    if (add && template) {
      add.addEventListener("click", function (ev) {
        ev.preventDefault();
        var row = template.content.firstElementChild.cloneNode(true);
        box.querySelector(".rows").appendChild(row);
      });
    }
    box.addEventListener("click", function (ev) {
      if (ev.target.classList.contains("remove-filter")) {
        ev.preventDefault();
        var row = ev.target.closest(".row");
        if (row) { row.parentNode.removeChild(row); }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-tabs]").forEach(setupTabs);
    setupFacets();
    setupFilters();
  });
})();
