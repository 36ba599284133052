/* The public "report a problem" page: a click on the map chooses the place (the
   hidden lat/lon fields); a place already chosen (the form came back with an error)
   is shown again. The partner's page shows the report's point on a small map. */
(function () {
  "use strict";
  function pickPlace() {
    var lat = document.getElementById("f-lat");
    var lon = document.getElementById("f-lon");
    var text = document.getElementById("point-text");
    var map = SargsMap.create("report-map", { zoom: 12 });
    var marker = null;
    function show(latlng, move) {
      if (marker) { marker.setLatLng(latlng); } else { marker = L.circleMarker(latlng, { radius: 8, color: "#000", weight: 2, fillColor: "#ffd54f", fillOpacity: 1 }).addTo(map); }
      if (move) { map.setView(latlng, 16); }
      text.textContent = text.dataset.chosen + ": " + latlng.lat.toFixed(6) + ", " + latlng.lng.toFixed(6);
    }
    if (lat.value && lon.value) { show(L.latLng(Number(lat.value), Number(lon.value)), true); }
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
      show(e.latlng, false);
    });
  }
  function showPoint() {
    var point = document.getElementById("partner-point");
    var latlng = L.latLng(Number(point.dataset.lat), Number(point.dataset.lon));
    var map = SargsMap.create("partner-map", { zoom: 16 });
    map.setView(latlng, 16);
    L.circleMarker(latlng, { radius: 8, color: "#000", weight: 2, fillColor: "#ffd54f", fillOpacity: 1 }).addTo(map);
  }
  if (document.getElementById("report-map")) { pickPlace(); }
  if (document.getElementById("partner-map")) { showPoint(); }
})();
