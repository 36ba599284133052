/* Sargs map component: a Leaflet map with the configured tile layer.
   When tiles cannot load (offline, blocked), the map keeps working on a
   plain background and a notice says so. */
(function () {
  "use strict";
  window.SargsMap = {
    create: function (elementId, options) {
      var el = document.getElementById(elementId);
      var config = JSON.parse(el.dataset.map);
      var map = L.map(el, Object.assign({ zoomControl: true }, options || {}))
        .setView(config.center, (options && options.zoom) || 12);
      var failures = 0;
      var notice = document.getElementById(elementId + "-offline");
      if (config.tiles) {
        var tiles = L.tileLayer(config.tiles, { attribution: config.attribution, maxZoom: 19 });
        tiles.on("tileerror", function () {
          failures += 1;
          if (failures >= 2 && notice) { notice.hidden = false; }
        });
        tiles.addTo(map);
      } else if (notice) {
        notice.hidden = false;
      }
      if (el.dataset.outlines) {
        L.geoJSON(JSON.parse(el.dataset.outlines), {
          interactive: false,
          style: { color: "#6c757d", weight: 1.5, fill: true, fillOpacity: 0.04, dashArray: "4 3" }
        }).addTo(map);
      }
      return map;
    }
  };
})();
