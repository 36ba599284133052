/* The public map of shelters: markers of open shelters (green with free places, grey
   when full) or of every registered place; "find the nearest open shelter" from the
   browser's location; the list and markers refreshed every minute from the page itself,
   so the server renders the list in one place. */
(function () {
  "use strict";
  var root = document.getElementById("shelters-public");
  if (!root) { return; }
  var text = root.dataset;
  var REFRESH_MS = 60000;
  var map = window.SargsMap.create("shelters-map", { zoom: 13 });
  var layer = L.featureGroup().addTo(map);

  function escape(value) {
    var div = document.createElement("div");
    div.textContent = value == null ? "" : String(value);
    return div.innerHTML;
  }

  function osmLink(lat, lon) {
    return "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=17/" + lat + "/" + lon;
  }

  function marker(row) {
    var open = row.open;
    var free = open && row.free_places > 0;
    var shape;
    if (open) {
      shape = L.marker([row.lat, row.lon], {
        icon: L.divIcon({
          className: "shelter-pin " + (free ? "shelter-pin-free" : "shelter-pin-full"),
          html: '<span data-testid="pin-free" data-id="' + row.id + '">' + (free ? row.free_places : "0") + "</span>",
          iconSize: [44, 44], iconAnchor: [22, 22]
        }),
        keyboard: true, title: row.name
      });
    } else {
      shape = L.circleMarker([row.lat, row.lon], {
        radius: 7, color: "#1f5fa8", weight: 2, fillOpacity: 0.5, className: "shelter-dot"
      });
    }
    var lines = ["<strong>" + escape(row.name) + "</strong>"];
    if (row.illustrative) { lines[0] += " <small>(" + escape(text.textIllustrative) + ")</small>"; }
    lines.push(escape(row.address));
    if (open) {
      lines.push(free ? "<strong>" + row.free_places + "</strong> " + escape(text.textFree)
                      : escape(text.textFull));
      if (row.updated_minutes_ago != null) {
        lines.push("<small>" + escape(text.textUpdated.replace("{n}", row.updated_minutes_ago)) + "</small>");
      }
    } else {
      lines.push("<small>" + escape(text.textRegistered) + "</small>");
    }
    lines.push('<a href="' + osmLink(row.lat, row.lon) + '" target="_blank" rel="noopener">' + escape(text.textMap) + "</a>");
    shape.bindPopup(lines.join("<br>"));
    return shape;
  }

  function draw(rows, fit) {
    layer.clearLayers();
    var anyOpen = rows.some(function (r) { return r.open; });
    rows.forEach(function (row) {
      // When shelters are open, the map is about them; otherwise every registered place.
      if (!anyOpen || row.open) { layer.addLayer(marker(row)); }
    });
    if (fit && layer.getLayers().length) {
      map.fitBounds(layer.getBounds(), { maxZoom: 15, padding: [24, 24], animate: false });
    }
    root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
  }

  function refresh() {
    fetch(window.location.pathname, { headers: { Accept: "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var list = fresh.getElementById("shelters-list");
        var holder = fresh.getElementById("shelters-public");
        if (!list || !holder) { return; }
        document.getElementById("shelters-list").innerHTML = list.innerHTML;
        draw(JSON.parse(holder.dataset.rows), false);
      })
      .catch(function () { /* the next refresh tries again */ });
  }

  function distance(metres) {
    return metres < 1000 ? text.textM.replace("{n}", metres)
                         : text.textKm.replace("{n}", (metres / 1000).toFixed(1));
  }

  function showNearest(rows) {
    var status = document.getElementById("nearest-status");
    var list = document.getElementById("nearest-list");
    var anyOpen = rows.length > 0 && rows[0].open;
    status.textContent = anyOpen ? text.textOpenFound : text.textNoneOpen;
    list.innerHTML = rows.map(function (row) {
      var free = row.open ? " · <strong>" + row.free_places + "</strong> " + escape(text.textFree) : "";
      return '<li data-testid="nearest-item" data-id="' + row.id + '"><strong>' + escape(row.name) +
        "</strong> · " + escape(distance(row.distance_m)) + free + "<br><small>" + escape(row.address) +
        '</small> · <a href="' + osmLink(row.lat, row.lon) + '" target="_blank" rel="noopener">' +
        escape(text.textDirections) + "</a> · <a href=\"geo:" + row.lat + "," + row.lon + '">geo</a></li>';
    }).join("");
    if (rows.length) {
      map.fitBounds(L.latLngBounds(rows.map(function (r) { return [r.lat, r.lon]; })),
                    { maxZoom: 16, padding: [32, 32], animate: false });
    }
  }

  function findNearest() {
    var section = document.getElementById("nearest");
    var status = document.getElementById("nearest-status");
    section.hidden = false;
    document.getElementById("nearest-list").innerHTML = "";
    if (!navigator.geolocation) { status.textContent = text.textNoLocation; return; }
    status.textContent = text.textLocating;
    navigator.geolocation.getCurrentPosition(function (position) {
      var lat = position.coords.latitude.toFixed(6), lon = position.coords.longitude.toFixed(6);
      L.circleMarker([lat, lon], { radius: 6, color: "#b71c1c", className: "shelter-me" }).addTo(layer);
      fetch(text.nearestUrl + "?lat=" + lat + "&lon=" + lon + "&n=3")
        .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer.status); })
        .then(showNearest)
        .catch(function () { status.textContent = text.textFailed; });
    }, function () { status.textContent = text.textNoLocation; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  document.getElementById("find-nearest").addEventListener("click", findNearest);
  draw(JSON.parse(text.rows), true);
  window.setInterval(refresh, REFRESH_MS);
})();
