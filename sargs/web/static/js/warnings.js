/* The warnings map: home areas outlined, each active warning's polygons (or, for a
   warning given by area codes, the outlines of those areas) filled in its level's
   colour. The shapes come with the page (#warnings-shapes); no tiles are needed. */
(function () {
  "use strict";

  var LEVEL_COLOURS = { yellow: "#f2c200", orange: "#f07f00", red: "#d0021b" };
  var HOME = { color: "#37474f", weight: 2, dashArray: "6 4", fill: false };

  function styleOf(feature) {
    var props = feature.properties;
    if (props.role === "home") { return HOME; }
    var colour = LEVEL_COLOURS[props.level] || "#607d8b";
    return { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.35 };
  }

  function bind(feature, layer) {
    var props = feature.properties;
    layer.bindTooltip(props.role === "home" ? props.name : props.title, { sticky: true });
    if (props.url) { layer.on("click", function () { window.location.href = props.url; }); }
  }

  function start() {
    var source = document.getElementById("warnings-shapes");
    if (!source || !document.getElementById("warnings-map")) { return; }
    var shapes = JSON.parse(source.textContent);
    var map = window.SargsMap.create("warnings-map", { zoom: 9 });
    var layer = L.geoJSON(shapes, { style: styleOf, onEachFeature: bind }).addTo(map);
    // Warnings above the home outline, so their tooltips and links can be reached.
    layer.eachLayer(function (l) { if (l.feature.properties.role === "warning") { l.bringToFront(); } });
    if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
