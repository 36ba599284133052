/* The 8787 line's pages: the category search of the intake form (type, arrows, Enter),
   the point on the intake map (a click sets it; Tab never stops on the map), Ctrl+Enter to
   save, "select all" on the queue, and the map of open reports. Texts and data come from
   the page; nothing here needs the tile server. */
(function () {
  "use strict";

  var STATE_COLOURS = { draft: "#757575", "new": "#1565c0", returned: "#8e24aa",
                        routed: "#ef6c00", accepted: "#2e7d32" };
  var OVERDUE_COLOUR = "#d0021b";

  function placeChanged() {
    document.body.dispatchEvent(new CustomEvent("cad-place", { bubbles: true }));
  }

  // Lower case without diacritics, so "ledus" finds "Ledus" and "iela" finds "Ielas".
  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function categoryPicker() {
    var search = document.getElementById("f-category-search");
    var hidden = document.getElementById("f-category");
    var list = document.getElementById("category-options");
    var data = document.getElementById("category-data");
    if (!search || !hidden || !list || !data) { return; }
    var language = document.documentElement.lang === "en" ? "en" : "lv";
    var other = language === "en" ? "lv" : "en";
    var choices = JSON.parse(data.textContent).map(function (c) {
      return Object.assign({ haystack: fold([c.code, c.lv, c.en, c.keywords].join(" ")),
                             label: c[language] }, c);
    });
    var shown = [];
    var active = -1;
    var picked = choices.filter(function (c) { return c.code === hidden.value; })[0] || null;

    function setActive(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        if (i === active) { li.scrollIntoView({ block: "nearest" }); }
      });
      if (active >= 0) {
        search.setAttribute("aria-activedescendant", list.children[active].id);
      } else {
        search.removeAttribute("aria-activedescendant");
      }
    }

    function close() {
      list.hidden = true;
      search.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function show(matches) {
      shown = matches;
      list.replaceChildren();
      matches.forEach(function (c) {
        var li = document.createElement("li");
        li.id = "category-option-" + c.code;
        li.setAttribute("role", "option");
        li.dataset.code = c.code;
        li.textContent = c.label;
        var small = document.createElement("small");
        small.textContent = " " + c[other];
        li.appendChild(small);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault();  // keep the focus in the search
          pick(c);
        });
        list.appendChild(li);
      });
      list.hidden = matches.length === 0;
      search.setAttribute("aria-expanded", matches.length ? "true" : "false");
      setActive(matches.length ? 0 : -1);
    }

    function filter() {
      var words = fold(search.value).split(/\s+/).filter(Boolean);
      var matches = choices.filter(function (c) {
        return words.every(function (w) { return c.haystack.indexOf(w) >= 0; });
      });
      var first = words[0] || "";
      // Names that start with what was typed come first.
      matches.sort(function (a, b) {
        var sa = fold(a.label).indexOf(first) === 0 ? 0 : 1;
        var sb = fold(b.label).indexOf(first) === 0 ? 0 : 1;
        return sa - sb;
      });
      show(matches);
    }

    function pick(choice) {
      picked = choice;
      hidden.value = choice.code;
      search.value = choice.label;
      search.removeAttribute("aria-invalid");
      close();
      placeChanged();
    }

    search.addEventListener("input", function () {
      if (picked && search.value !== picked.label) {
        picked = null;
        hidden.value = "";
        placeChanged();
      }
      filter();
    });
    search.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey) { return; }  // Ctrl+Enter saves the form
      var open = !list.hidden && shown.length > 0;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) { filter(); return; }
        var step = event.key === "ArrowDown" ? 1 : -1;
        setActive((active + step + shown.length) % shown.length);
      } else if (event.key === "Enter") {
        // Enter in the search chooses; it never sends a half-filled form.
        event.preventDefault();
        if (open) { pick(shown[Math.max(active, 0)]); }
      } else if (event.key === "Escape") {
        close();
      } else if (event.key === "Tab" && open && active >= 0 && search.value.trim()) {
        pick(shown[active]);
      }
    });
    search.addEventListener("blur", function () { window.setTimeout(close, 100); });
  }

  // Map controls and links out of the Tab order: the keyboard path goes around the map.
  function untabbable(element) {
    element.querySelectorAll("a, button, [tabindex]").forEach(function (el) {
      el.setAttribute("tabindex", "-1");
    });
    element.setAttribute("tabindex", "-1");
  }

  function intakeMap() {
    var box = document.getElementById("intake-map");
    var lat = document.getElementById("f-lat");
    var lon = document.getElementById("f-lon");
    if (!box || !lat || !lon || !window.L) { return; }
    // Leaflet's keyboard panning stays on, but the map is out of the Tab order: Alt+M
    // (or the button under it) takes the focus there, arrows move, Enter sets the point
    // at the centre cross, Escape goes back to the address.
    var map = window.SargsMap.create("intake-map", { zoom: 13 });
    untabbable(box);
    var text = document.getElementById("point-text");
    var marker = null;

    function set(latlng, pan) {
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
      if (marker) {
        marker.setLatLng(latlng);
      } else {
        marker = L.circleMarker(latlng, { radius: 8, color: "#000", weight: 2,
                                          fillColor: "#ffd54f", fillOpacity: 1 }).addTo(map);
      }
      if (pan) { map.setView(latlng, 16); }
      text.textContent = lat.value + ", " + lon.value;
      placeChanged();
    }

    if (lat.value && lon.value) { set(L.latLng(Number(lat.value), Number(lon.value)), true); }
    map.on("click", function (event) { set(event.latlng, false); });
    var address = document.getElementById("f-address");
    function focusMap() {
      if (marker) { map.panTo(marker.getLatLng()); }
      box.focus();
    }
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        set(map.getCenter(), false);
      } else if (event.key === "Escape" && address) {
        address.focus();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.altKey && !event.ctrlKey && (event.key === "m" || event.key === "M" || event.code === "KeyM")) {
        event.preventDefault();
        focusMap();
      }
    });
    var place = document.getElementById("place-on-map");
    if (place) { place.addEventListener("click", focusMap); }
    var clear = document.getElementById("clear-point");
    if (clear) {
      clear.addEventListener("click", function () {
        lat.value = lon.value = "";
        if (marker) { map.removeLayer(marker); marker = null; }
        text.textContent = text.dataset.none;
        placeChanged();
      });
    }
  }

  function saveWithCtrlEnter() {
    var form = document.getElementById("intake-form");
    if (!form) { return; }
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  function selectAll() {
    var all = document.getElementById("select-all");
    if (!all) { return; }
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=ids]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  function popup(props, texts) {
    var div = document.createElement("div");
    var link = document.createElement("a");
    link.href = props.url;
    link.textContent = texts.open + " " + props.id;
    link.dataset.testid = "popup-link";
    div.appendChild(link);
    [props.category, props.address, props.state_label, props.partner, props.overdue_label]
      .filter(Boolean).forEach(function (line) {
        div.appendChild(document.createElement("br"));
        div.appendChild(document.createTextNode(line));
      });
    return div;
  }

  function openReportsMap() {
    var page = document.getElementById("open-reports");
    if (!page || !window.L) { return; }
    var map = window.SargsMap.create("reports-map", { zoom: 12 });
    var texts = { open: page.dataset.textOpen };
    fetch(page.dataset.url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("open reports: HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          pointToLayer: function (feature, latlng) {
            var props = feature.properties;
            return L.circleMarker(latlng, {
              radius: props.overdue ? 9 : 7,
              color: props.overdue ? OVERDUE_COLOUR : "#212121",
              weight: props.overdue ? 4 : 1,
              fillColor: STATE_COLOURS[props.state] || "#607d8b", fillOpacity: 0.9,
              className: "cad-marker cad-marker-" + props.id +
                (props.overdue ? " cad-marker-overdue" : "")
            });
          },
          onEachFeature: function (feature, l) {
            l.bindPopup(popup(feature.properties, texts));
            l.bindTooltip(feature.properties.id + " " + (feature.properties.category || ""));
          }
        }).addTo(map);
        if (layer.getLayers().length) {
          map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 14, animate: false });
        }
        document.getElementById("reports-count").textContent =
          data.features.length + " " + page.dataset.textCount;
        page.dataset.loaded = String(data.features.length);
      })
      .catch(function (error) { console.error(error); });
  }

  function start() {
    categoryPicker();
    intakeMap();
    saveWithCtrlEnter();
    selectAll();
    openReportsMap();
    // A form shown again after an error: look for duplicates of what it holds.
    if (document.getElementById("duplicates")) { placeChanged(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
