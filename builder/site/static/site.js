// transit-snapshot's rider website: the one script of every page. Pages work without it; it adds the
// stop search (index.html) and the date picker and "next departures" view of departure boards
// (stops/*.html). It reads only data the pages carry, so it works from file:// as well as over HTTP.
"use strict";
(function () {
  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    return node;
  }

  // --- stop search: filters window.transitSnapshotStops ([name, page, code]) as one types
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function setUpSearch() {
    var box = document.getElementById("stop-search");
    var stops = window.transitSnapshotStops;
    if (!box || !stops) return;
    var input = document.getElementById("stop-query");
    var results = document.getElementById("stop-results");
    var count = document.getElementById("stop-count");
    var folded = stops.map(function (s) { return fold(s[0] + " " + s[2]); });
    var limit = 50;
    function update() {
      var words = fold(input.value).trim().split(/\s+/).filter(Boolean);
      results.replaceChildren();
      if (!words.length) { count.textContent = stops.length + " stops"; return; }
      var found = 0;
      for (var i = 0; i < stops.length; i++) {
        if (!words.every(function (w) { return folded[i].indexOf(w) >= 0; })) continue;
        found++;
        if (found > limit) continue;
        var item = el("li");
        var link = el("a", stops[i][0], { href: stops[i][1] });
        item.appendChild(link);
        if (stops[i][2]) item.appendChild(el("span", " (" + stops[i][2] + ")"));
        results.appendChild(item);
      }
      count.textContent = found === 0 ? "No stop matches." :
        found > limit ? found + " stops match; the first " + limit + " are shown." : found + " stops match.";
    }
    input.addEventListener("input", update);
    box.hidden = false;
    update();
  }

  // --- departure boards: window.transitSnapshotBoards, the stop's week (stops/<key>.js, loaded by its
  // page); rows are [local ISO date-time with offset, route, headsign, platform, note], the time written
  // without its date when it is on the row's date, and without its offset when it is at the date's
  // usual one (data.offsets[date]): completed here, as board_week.full_time does
  function setUpBoard() {
    var data = window.transitSnapshotBoards;
    if (!data || !document.getElementById("board")) return;
    data.dates.forEach(function (date) {
      var day = date.slice(0, 4) + "-" + date.slice(4, 6) + "-" + date.slice(6) + "T";
      data.days[date].forEach(function (row) {
        if (row[0].charAt(2) === ":") row[0] = day + row[0];
        if (row[0].length === 19) row[0] += data.offsets[date];
      });
    });
    var platformNode = document.getElementById("board-platforms");
    var platformNames = platformNode ? JSON.parse(platformNode.textContent) : null;
    var picker = document.getElementById("board-date");
    var nowButton = document.getElementById("board-now");
    var body = document.querySelector("#board tbody");
    var caption = document.getElementById("board-caption");

    function cells(row, withDate) {
      var tr = el("tr");
      var route = data.routes[row[1]];
      var time = row[0].slice(11, 16);
      // the weekday of the board's own local date, whatever the browser's time zone
      if (withDate) time = new Date(row[0].slice(0, 10) + "T12:00:00Z").toLocaleDateString("en-GB",
        { weekday: "short", timeZone: "UTC" }) + " " + time;
      tr.appendChild(el("td", time));
      var routeCell = el("td");
      if (route[4]) {
        var link = el("a", route[0], { href: route[4], "class": "badge" });
        link.style.background = route[2];
        link.style.color = route[3];
        routeCell.appendChild(link);
      } else {
        routeCell.textContent = route[0];
      }
      tr.appendChild(routeCell);
      tr.appendChild(el("td", data.headsigns[row[2]]));
      if (platformNames) {
        var platform = data.platforms[row[3]];
        tr.appendChild(el("td", platformNames[platform] || platform));
      }
      tr.appendChild(el("td", row[4]));
      return tr;
    }

    function show(rows, text, withDate) {
      body.replaceChildren.apply(body, rows.map(function (r) { return cells(r, withDate); }));
      caption.textContent = text;
    }

    function showDate(date) {
      var label = picker.options[picker.selectedIndex].textContent;
      show(data.days[date], label + ": " + data.days[date].length + " departures", false);
    }

    function showNext() {
      var now = Date.now();
      var upcoming = [];
      data.dates.forEach(function (date) {
        data.days[date].forEach(function (row) {
          var at = Date.parse(row[0]);
          if (at >= now) upcoming.push([at, row]);
        });
      });
      upcoming.sort(function (a, b) { return a[0] - b[0]; });
      upcoming = upcoming.map(function (pair) { return pair[1]; });
      var next = upcoming.slice(0, 10);
      show(next, next.length ? "Next " + next.length + " departures from now" :
        "No departure from now within the dates of these boards", true);
    }

    picker.addEventListener("change", function () { showDate(picker.value); });
    nowButton.addEventListener("click", showNext);
    document.getElementById("board-controls").hidden = false;
  }

  function start() {
    setUpSearch();
    setUpBoard();
  }
  // Deferred scripts run before DOMContentLoaded: wait for it, so the search index or the stop's week
  // (deferred too) is there.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
