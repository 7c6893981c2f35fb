/// The dashboard's stylesheet and its one small script, served from the binary
/// (`/static/meteo.css`, `/static/meteo.js`) so that the pages work offline.
enum Assets {
    static let css = """
    :root{--fg:#1d2430;--muted:#5d6b7e;--line:#dfe4ea;--bg:#f6f8fa;--card:#fff;--accent:#1f6feb}
    *{box-sizing:border-box}
    body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:var(--bg);font-size:15px}
    header{background:#17202c;color:#fff;padding:.6rem 1.5rem;display:flex;align-items:center;gap:1.5rem;flex-wrap:wrap}
    header .brand{font-weight:700;font-size:1.15rem;letter-spacing:.02em}
    header nav a{color:#c9d4e3;text-decoration:none;margin-right:1rem;font-size:.95rem}
    header nav a.active,header nav a:hover{color:#fff;border-bottom:2px solid #58a6ff}
    #live-status{margin-left:auto;font-size:.8rem;color:#c9d4e3}
    #live-status.on::before{content:"●";color:#3fb950;margin-right:.3rem}
    main{padding:1.2rem 1.5rem;max-width:1400px;margin:0 auto}
    h1{font-size:1.35rem;margin:.2rem 0 1rem}
    h2{font-size:1.05rem;margin:1.4rem 0 .6rem;color:#2b3545}
    .figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.8rem}
    .figures div{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.7rem 1rem;color:var(--muted);font-size:.85rem}
    .figures b{display:block;font-size:1.45rem;color:var(--fg);margin-top:.2rem;font-variant-numeric:tabular-nums}
    .card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin-top:1rem}
    .card svg{width:100%;height:auto;display:block}
    .card.narrow svg{max-width:820px;margin:0 auto}
    form.controls{display:flex;gap:.8rem;flex-wrap:wrap;align-items:end;margin-bottom:.6rem}
    form.controls label{font-size:.8rem;color:var(--muted);display:flex;flex-direction:column;gap:.2rem}
    select,input,button{font:inherit;padding:.3rem .5rem;border:1px solid var(--line);border-radius:6px;background:#fff}
    button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}
    .regions a{display:inline-block;margin:0 .4rem .4rem 0;padding:.15rem .6rem;border:1px solid var(--line);border-radius:999px;text-decoration:none;color:var(--fg);background:#fff;font-size:.85rem}
    .regions a.active{background:var(--accent);color:#fff;border-color:var(--accent)}
    table{border-collapse:collapse;width:100%;font-size:.88rem;background:var(--card)}
    th,td{padding:.3rem .6rem;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
    th{position:sticky;top:0;background:#eef2f6;cursor:pointer;user-select:none}
    th.sorted-asc::after{content:" ▲";font-size:.7em}th.sorted-desc::after{content:" ▼";font-size:.7em}
    td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
    tr.flash td{animation:flash 1.5s ease-out}
    @keyframes flash{from{background:#fff3b0}to{background:transparent}}
    a{color:var(--accent)}
    .muted{color:var(--muted);font-size:.85rem}
    .fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:.4rem 1.2rem}
    .fields div{border-bottom:1px solid var(--line);padding:.3rem 0;display:flex;justify-content:space-between}
    .fields span{color:var(--muted)}
    pre{white-space:pre-wrap;word-break:break-all;background:#f0f3f6;padding:.4rem;border-radius:4px;font-size:.8rem;margin:0}
    footer{padding:1rem 1.5rem;font-size:.78rem;color:var(--muted);text-align:center}
    """

    static let js = #"""
    // Meteo dashboard: live updates over server-sent events (/api/stream), and the table's
    // sorting and filtering. The pages work without it; it only keeps them current.
    (function () {
      "use strict";
      function fmt(v, d) { return v === null || v === undefined ? "\u2013" : Number(v).toFixed(d); }
      function count(v) { return v === null || v === undefined ? "\u2013" : Number(v).toLocaleString("en-US"); }
      function set(el, s) { if (el && el.textContent !== s) { el.textContent = s; } }
      var figureText = {
        places: function (f) { return count(f.places); },
        observations: function (f) { return count(f.observations); },
        last_update: function (f) { return f.last_update ? f.last_update.replace("T", " ").replace("Z", "") : "\u2013"; },
        mean_temperature_c: function (f) { return fmt(f.mean_temperature_c, 1) + " \u00b0C"; },
        mean_humidity_pct: function (f) { return fmt(f.mean_humidity_pct, 1) + " %"; },
        rain_places: function (f) { return count(f.rain_places); },
        snow_places: function (f) { return count(f.snow_places); },
        dead_letters: function (f) { return count(f.dead_letters); }
      };
      var decimals = { temperature_c: 1, feels_like_c: 1, humidity_pct: 0, pressure_hpa: 1, wind_speed_ms: 1,
                       wind_gust_ms: 1, cloud_cover_pct: 0, rain_mm: 2, snow_mm: 2 };
      var status = document.getElementById("live-status");
      if (window.EventSource && document.body.getAttribute("data-live") === "on") {
        var source = new EventSource("/api/stream");
        source.onopen = function () { if (status) { status.textContent = "live"; status.className = "on"; } };
        source.onerror = function () { if (status) { status.textContent = "reconnecting\u2026"; status.className = ""; } };
        // Leaving the page closes its stream: a page kept in the back/forward cache would hold
        // its connection open, and with six of them the browser could load nothing more from
        // this server. A page shown again from that cache is reloaded, fresh and live again.
        window.addEventListener("pagehide", function () { source.close(); });
        window.addEventListener("pageshow", function (e) { if (e.persisted) { window.location.reload(); } });
        source.addEventListener("figures", function (e) {
          var f = JSON.parse(e.data);
          Object.keys(figureText).forEach(function (k) {
            document.querySelectorAll('[data-figure="' + k + '"]').forEach(function (el) { set(el, figureText[k](f)); });
          });
        });
        source.addEventListener("latest", function (e) {
          var flashed = [], byPlace = {};
          // One pass over the page's places, not one search of the whole page per observation.
          document.querySelectorAll("[data-place]").forEach(function (el) {
            var id = el.getAttribute("data-place");
            (byPlace[id] = byPlace[id] || []).push(el);
          });
          JSON.parse(e.data).forEach(function (o) {
            (Object.prototype.hasOwnProperty.call(byPlace, o.place_id) ? byPlace[o.place_id] : []).forEach(function (el) {
              if (el.tagName.toLowerCase() === "circle") {
                el.setAttribute("fill", o.marker_color);
                var t = el.querySelector("title");
                if (t) { t.textContent = o.name + ": " + fmt(o.temperature_c, 1) + " \u00b0C, " + fmt(o.humidity_pct, 0) + " %"; }
              } else if (el.tagName.toLowerCase() === "tr") {
                el.querySelectorAll("[data-field]").forEach(function (td) {
                  var k = td.getAttribute("data-field");
                  if (k === "observed_at") { set(td, o.observed_at.replace("T", " ").replace("Z", "")); }
                  else if (k in decimals) { set(td, fmt(o[k], decimals[k])); td.setAttribute("data-value", o[k] === null ? "" : o[k]); }
                });
                flashed.push(el);
              }
            });
          });
          // Restart the rows' flash with one layout for all, not one per row: a poll can change
          // every row, and a forced layout of the whole table per row froze the page for a minute.
          if (flashed.length) {
            flashed.forEach(function (el) { el.classList.remove("flash"); });
            void document.body.offsetWidth;
            flashed.forEach(function (el) { el.classList.add("flash"); });
          }
        });
      }
      document.querySelectorAll("table.sortable").forEach(function (table) {
        var headers = table.querySelectorAll("th");
        headers.forEach(function (th, column) {
          th.addEventListener("click", function () {
            var ascending = !th.classList.contains("sorted-asc");
            headers.forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
            th.classList.add(ascending ? "sorted-asc" : "sorted-desc");
            var numeric = th.classList.contains("n");
            var body = table.tBodies[0];
            var rows = Array.prototype.slice.call(body.rows);
            rows.sort(function (a, b) {
              var x = a.cells[column].getAttribute("data-value") || a.cells[column].textContent;
              var y = b.cells[column].getAttribute("data-value") || b.cells[column].textContent;
              var r;
              if (numeric) {
                var nx = x === "" || x === "\u2013" ? -Infinity : parseFloat(x), ny = y === "" || y === "\u2013" ? -Infinity : parseFloat(y);
                r = nx - ny;
              } else { r = x.localeCompare(y); }
              return ascending ? r : -r;
            });
            rows.forEach(function (row) { body.appendChild(row); });
          });
        });
      });
      var filter = document.getElementById("table-filter");
      if (filter) {
        filter.addEventListener("input", function () {
          var q = filter.value.toLowerCase();
          document.querySelectorAll("table.sortable tbody tr").forEach(function (row) {
            row.hidden = q !== "" && row.textContent.toLowerCase().indexOf(q) < 0;
          });
        });
      }
    })();
    """#
}
