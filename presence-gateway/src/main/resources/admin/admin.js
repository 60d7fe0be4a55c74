"use strict";
// The admin page: every button calls the admin API of this node with the token typed above.
// Answers are shown as text (textContent only), never as markup.
(function () {
  var $ = function (id) { return document.getElementById(id); };

  function call(method, path, after) {
    var token = $("token").value.trim();
    $("status").textContent = method + " " + path + " …";
    $("out").textContent = "";
    fetch(path, {
      method: method,
      headers: { "Authorization": "Bearer " + token },
      cache: "no-store",
      credentials: "omit"
    }).then(function (r) {
      return r.text().then(function (text) {
        var body;
        try { body = JSON.parse(text); } catch (e) { body = text; }
        $("status").textContent = method + " " + path + ": " + r.status;
        $("out").textContent = typeof body === "string" ? body : JSON.stringify(body, null, 2);
        if (r.ok && after) { after(body); }
      });
    }).catch(function (e) {
      $("status").textContent = method + " " + path + ": " + e;
    });
  }

  function cell(row, value) {
    var td = document.createElement("td");
    td.textContent = value === undefined || value === null ? "" : String(value);
    row.appendChild(td);
  }

  function showNodes(body) {
    var rows = $("node-rows");
    while (rows.firstChild) { rows.removeChild(rows.firstChild); }
    (body.nodes || []).forEach(function (n) {
      var tr = document.createElement("tr");
      tr.className = "node";
      var c = n.connections || {};
      cell(tr, n.node);
      cell(tr, n.leased ? (n.lease_ok === false ? "renewal failing" : n.lease_seconds + " s") : "none");
      cell(tr, n.reachable ? "yes" : "no");
      cell(tr, c.device);
      cell(tr, c.app);
      cell(tr, c.stream);
      cell(tr, c.http);
      cell(tr, n.device_sessions);
      rows.appendChild(tr);
    });
    $("node-table").hidden = false;
  }

  function app() {
    return "/admin/api/apps/" + encodeURIComponent($("app-id").value.trim());
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("nodes").addEventListener("click", function () { call("GET", "/admin/api/nodes", showNodes); });
    $("health").addEventListener("click", function () { call("GET", "/admin/api/health"); });
    $("app-show").addEventListener("click", function () { call("GET", app()); });
    $("app-suspend").addEventListener("click", function () { call("POST", app() + "/suspend"); });
    $("app-resume").addEventListener("click", function () { call("POST", app() + "/resume"); });
    $("app-key").addEventListener("click", function () { call("POST", app() + "/key"); });
    $("user-disconnect").addEventListener("click", function () {
      call("POST", "/admin/api/users/" + encodeURIComponent($("user-sub").value.trim()) + "/disconnect");
    });
  });
})();
