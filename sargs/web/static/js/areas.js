/* The areas page: outlines on the map, and drawing a neighbourhood by clicks. */
(function () {
  "use strict";
  window.SargsAreas = {
    init: function (mapId, geojsonUrl, homeCodes) {
      var map = SargsMap.create(mapId, { zoom: 10 });
      fetch(geojsonUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
        var layer = L.geoJSON(data, {
          style: function (f) {
            var home = homeCodes.indexOf(f.properties.code) >= 0;
            var hood = f.properties.kind === "neighbourhood";
            return { color: home ? "#9e1b32" : hood ? "#1565c0" : "#607d8b", weight: home ? 3 : 1, fillOpacity: home ? 0.12 : 0.04 };
          },
          onEachFeature: function (f, l) { l.bindTooltip(f.properties.code + " " + f.properties.name); }
        }).addTo(map);
        var homeLayers = layer.getLayers().filter(function (l) { return homeCodes.indexOf(l.feature.properties.code) >= 0; });
        if (homeLayers.length) { map.fitBounds(L.featureGroup(homeLayers).getBounds()); }
      });
      var textarea = document.getElementById("f-geometry");
      if (!textarea) { return; }
      var corners = [];
      var drawn = L.polygon([], { color: "#1565c0" }).addTo(map);
      function sync() {
        drawn.setLatLngs(corners);
        if (corners.length >= 3) {
          var ring = corners.map(function (c) { return [Number(c.lng.toFixed(6)), Number(c.lat.toFixed(6))]; });
          ring.push(ring[0]);
          textarea.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
        }
      }
      map.on("click", function (e) { corners.push(e.latlng); sync(); });
      document.getElementById("clear-outline").addEventListener("click", function () { corners = []; textarea.value = ""; sync(); });
    }
  };
})();
