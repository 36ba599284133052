/* The situation dashboard: the map's layers (warnings, open shelters, open reports,
   call-out sites, each toggled in the layer control) redrawn from the board each time
   htmx refreshes it, and each part aged between refreshes: a part older than it may be
   turns stale. Ages are measured on the server's clock (the board's taken-at time) plus
   the time since the board arrived, so a wrong clock on the screen does not matter. */
(function () {
  "use strict";

  var LEVEL_COLOURS = { yellow: "#f2c200", orange: "#f07f00", red: "#d0021b" };
  var HOME = { color: "#37474f", weight: 2, dashArray: "6 4", fill: false };
  var arrivedAt = Date.now();
  var map = null;
  var layers = {};
  var fitted = false;

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value == null ? "" : String(value);
    return span.innerHTML;
  }

  function circle(colour, radius) {
    return function (feature, latlng) {
      return L.circleMarker(latlng, { radius: radius, color: "#fff", weight: 2,
                                      fillColor: colour, fillOpacity: 0.9 });
    };
  }

  var LAYERS = {
    warnings: {
      style: function (feature) {
        if (feature.properties.role === "home") { return HOME; }
        var colour = LEVEL_COLOURS[feature.properties.level] || "#607d8b";
        return { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.3 };
      },
      tip: function (p) { return p.role === "home" ? p.name : p.title; }
    },
    shelters: {
      point: circle("#1565c0", 9),
      tip: function (p) { return p.name + " — " + p.occupancy + "/" + p.capacity; }
    },
    reports: {
      point: circle("#6a1b9a", 6),
      tip: function (p) { return "#" + p.id + " " + p.category + ": " + p.title; }
    },
    callouts: {
      point: circle("#2e7d32", 9),
      tip: function (p) { return p.title + " — " + p.committed + "/" + p.needed; }
    }
  };

  function startMap() {
    if (!document.getElementById("situation-map")) { return; }
    map = window.SargsMap.create("situation-map", { zoom: 11 });
    var names = JSON.parse(document.getElementById("situation-layer-names").innerHTML);
    var overlays = {};
    Object.keys(LAYERS).forEach(function (key) {
      var spec = LAYERS[key];
      layers[key] = L.geoJSON(null, {
        style: spec.style,
        pointToLayer: spec.point,
        onEachFeature: function (feature, layer) {
          layer.bindTooltip(text(spec.tip(feature.properties)), { sticky: true });
        }
      }).addTo(map);
      overlays[names[key] || key] = layers[key];
    });
    L.control.layers(null, overlays, { collapsed: false }).addTo(map);
  }

  function drawLayers() {
    var source = document.getElementById("situation-layers");
    if (!source || !map) { return; }
    var data = JSON.parse(source.textContent);
    var bounds = L.latLngBounds([]);
    Object.keys(layers).forEach(function (key) {
      layers[key].clearLayers();
      layers[key].addData(data[key]);
      if (data[key].features.length) { bounds.extend(layers[key].getBounds()); }
    });
    layers.warnings.eachLayer(function (l) {
      if (l.feature.properties.role === "warning") { l.bringToFront(); }
    });
    var asOf = document.getElementById("situation-map-as-of");
    if (asOf) { asOf.textContent = source.dataset.asOfText; }
    if (!fitted && bounds.isValid()) {
      map.fitBounds(bounds, { padding: [12, 12], maxZoom: 14 });
      fitted = true;
    }
  }

  function age(asOf) {
    return Number(document.getElementById("situation-taken-at").dataset.takenAt) - Number(asOf) + (Date.now() - arrivedAt) / 1000;
  }

  function markStale() {
    var board = document.getElementById("situation-board");
    if (!board) { return; }
    board.querySelectorAll("[data-part]").forEach(function (tile) {
      var old = age(tile.dataset.asOf) > Number(tile.dataset.staleAfter);
      tile.classList.toggle("stale", old || tile.dataset.serverStale === "1");
    });
    var mapTile = document.getElementById("situation-map-tile");
    var source = document.getElementById("situation-layers");
    if (mapTile && source) {
      mapTile.classList.toggle("stale",
        age(source.dataset.asOf) > Number(mapTile.dataset.staleAfter));
    }
  }

  function refreshed() {
    arrivedAt = Date.now();
    drawLayers();
    markStale();
  }

  function start() {
    startMap();
    refreshed();
    window.setInterval(markStale, 1000);
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.target && event.target.id === "situation-board") { refreshed(); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
