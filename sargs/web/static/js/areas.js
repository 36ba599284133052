/* The areas page: outlines on the map (home areas highlighted, neighbourhoods
   in their own colour), point lookup by clicking the map, and drawing a
   neighbourhood by clicking its corners. Settings and texts come from the
   data attributes of #areas-page; nothing here needs the tile server. */
(function () {
  "use strict";

  var COLOURS = { home: "#9e1b32", neighbourhood: "#1565c0", sea: "#4f8fa8", other: "#607d8b" };

  function colourOf(props) {
    if (props.home) { return COLOURS.home; }
    return COLOURS[props.kind] || COLOURS.other;
  }

  function styleOf(feature) {
    var props = feature.properties;
    return {
      color: colourOf(props),
      weight: props.home ? 3 : props.kind === "neighbourhood" ? 2 : 1,
      fillOpacity: props.home ? 0.12 : props.kind === "neighbourhood" ? 0.2 : 0.04
    };
  }

  function boundsSize(layer) {
    var b = layer.getBounds();
    return (b.getNorth() - b.getSouth()) * (b.getEast() - b.getWest());
  }

  // Set once the page shows something more specific than the home areas.
  var view = { fixed: false };

  function showOutlines(map, url) {
    return fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("outlines: HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          style: styleOf,
          onEachFeature: function (feature, l) {
            l.bindTooltip(feature.properties.code + " " + feature.properties.name, { sticky: true });
          }
        }).addTo(map);
        // Smaller outlines on top, so the city is not hidden under the municipality around it.
        layer.getLayers()
          .sort(function (a, b) { return boundsSize(b) - boundsSize(a); })
          .forEach(function (l) { l.bringToFront(); });
        var home = layer.getLayers().filter(function (l) { return l.feature.properties.home; });
        if (home.length && !view.fixed) { map.fitBounds(L.featureGroup(home).getBounds()); }
      })
      .catch(function (error) { console.error(error); });
  }

  function badge(text) {
    var span = document.createElement("span");
    span.className = "badge";
    span.textContent = text;
    return span;
  }

  function setupLookup(map, page, isDrawing) {
    var result = document.getElementById("lookup-result");
    var latInput = document.getElementById("f-lat");
    var lonInput = document.getElementById("f-lon");
    var marker = null;

    function mark(latlng) {
      if (marker) { marker.setLatLng(latlng); return; }
      marker = L.circleMarker(latlng, { radius: 7, color: "#000", weight: 2, fillColor: "#ffd54f", fillOpacity: 1 }).addTo(map);
    }

    function show(areas) {
      result.replaceChildren();
      if (!areas.length) { result.textContent = page.dataset.textNone; return; }
      areas.forEach(function (a) { result.appendChild(badge(a.code + " " + a.name)); });
    }

    if (result.dataset.lat) {
      var point = L.latLng(Number(result.dataset.lat), Number(result.dataset.lon));
      mark(point);
      map.setView(point, 11);
      view.fixed = true;
    }
    map.on("click", function (e) {
      if (isDrawing()) { return; }
      var lat = e.latlng.lat.toFixed(5);
      var lon = e.latlng.wrap().lng.toFixed(5);
      latInput.value = lat;
      lonInput.value = lon;
      mark(e.latlng);
      var url = page.dataset.lookup + "?" + new URLSearchParams({ lat: lat, lon: lon });
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("lookup: HTTP " + response.status); }
          return response.json();
        })
        .then(function (body) { show(body.areas); })
        .catch(function () { result.textContent = page.dataset.textFailed; });
    });
  }

  function setupDrawing(map) {
    var textarea = document.getElementById("f-geometry");
    var toggle = document.getElementById("draw-outline");
    if (!textarea || !toggle) { return function () { return false; }; }
    var corners = [];
    var active = false;
    var outline = L.polygon([], { color: COLOURS.neighbourhood, weight: 2, dashArray: "4 4" }).addTo(map);
    var dots = L.layerGroup().addTo(map);

    function redraw() {
      outline.setLatLngs(corners);
      dots.clearLayers();
      corners.forEach(function (c) {
        L.circleMarker(c, { radius: 4, color: COLOURS.neighbourhood, fillOpacity: 1, interactive: false }).addTo(dots);
      });
    }

    function write() {
      if (corners.length < 3) { textarea.value = ""; return; }
      var ring = corners.map(function (c) { return [Number(c.lng.toFixed(6)), Number(c.lat.toFixed(6))]; });
      ring.push(ring[0]);
      textarea.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    }

    function setActive(on) {
      active = on;
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      map.getContainer().style.cursor = on ? "crosshair" : "";
    }

    // After a refused submission, show the outline that was sent.
    try {
      var sent = JSON.parse(textarea.value || "null");
      if (sent && sent.type === "Polygon" && Array.isArray(sent.coordinates[0])) {
        corners = sent.coordinates[0].slice(0, -1).map(function (p) { return L.latLng(p[1], p[0]); });
        redraw();
        if (corners.length) {
          map.fitBounds(outline.getBounds(), { maxZoom: 15 });
          view.fixed = true;
        }
      }
    } catch (ignored) { /* pasted text that is not JSON: the server says so */ }

    toggle.addEventListener("click", function () { setActive(!active); });
    document.getElementById("undo-corner").addEventListener("click", function () {
      corners.pop(); redraw(); write();
    });
    document.getElementById("clear-outline").addEventListener("click", function () {
      corners = []; redraw(); write();
    });
    map.on("click", function (e) {
      if (!active) { return; }
      corners.push(e.latlng);
      redraw();
      write();
    });
    return function () { return active; };
  }

  var page = document.getElementById("areas-page");
  if (page && window.L && window.SargsMap) {
    var map = SargsMap.create("areas-map", { zoom: 10 });
    showOutlines(map, page.dataset.geojson);
    setupLookup(map, page, setupDrawing(map));
  }
})();
