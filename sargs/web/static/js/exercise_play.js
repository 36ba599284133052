/* The participant's exercise page: every few seconds the page asks its feed for the
   exercise clock and the injects sent to the participant, and adds the injects it does
   not show yet, drawn by the server exactly as on the page (so answers typed into the
   injects already shown are kept). When the exercise's state changes (paused, ended),
   the injects are drawn again: an ended exercise takes no more answers. */
(function () {
  "use strict";
  var clock = document.getElementById("exercise-clock");
  var list = document.getElementById("injects");
  if (!clock || !list) { return; }
  var state = clock.querySelector("[data-testid=state]");

  function shown() {
    var ids = {};
    list.querySelectorAll("[data-testid=inject]").forEach(function (el) { ids[el.dataset.id] = el; });
    return ids;
  }

  function place(inject, existing) {
    var holder = document.createElement("div");
    holder.innerHTML = inject.html;
    var fresh = holder.firstElementChild;
    if (!fresh) { return; }
    if (existing) { list.replaceChild(fresh, existing); } else { list.appendChild(fresh); }
  }

  function update(data) {
    var changed = state.dataset.state !== data.state;
    state.dataset.state = data.state;
    state.textContent = data.state_label;
    clock.querySelector("[data-testid=clock]").textContent = data.clock;
    var ids = shown();
    data.injects.forEach(function (inject) {
      var existing = ids[String(inject.id)];
      if (!existing || changed) { place(inject, existing); }
    });
    document.getElementById("no-injects").hidden = data.injects.length > 0;
    clock.dataset.polled = String(Number(clock.dataset.polled || 0) + 1);
  }

  function poll() {
    fetch(clock.dataset.feed, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer.status); })
      .then(update)
      .catch(function () { /* the next poll tries again */ });
  }

  window.setInterval(poll, Number(clock.dataset.pollMs) || 5000);
})();
