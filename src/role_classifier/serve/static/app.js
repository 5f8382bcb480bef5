// role-classifier serve: the CSV upload (start a job, poll its progress, offer the download),
// and a "working" state on the Classify button. The single-ad form works without this file.
"use strict";

(function () {
  var adForm = document.querySelector("form.ad-form");
  if (adForm) {
    adForm.addEventListener("submit", function () {
      var button = adForm.querySelector("button");
      button.disabled = true;
      button.textContent = "Classifying…";
    });
  }
  var result = document.getElementById("result");
  if (result && location.hash === "#result") result.focus();

  var form = document.getElementById("csv-form");
  var box = document.getElementById("csv-status");
  if (!form || !box) return;

  function show(parts) {
    box.replaceChildren.apply(box, parts);
  }
  function para(text, cls) {
    var p = document.createElement("p");
    p.textContent = text;
    if (cls) p.className = cls;
    return p;
  }
  function detail(body, status) {
    if (body && typeof body.detail === "string") return body.detail;
    return "the server answered " + status;
  }

  function poll(job) {
    fetch(job.status_url).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
    }).then(function (res) {
      if (!res.ok) { show([para("Error: " + detail(res.body, res.status), "error")]); return; }
      var j = res.body;
      var parts = [];
      var bar = document.createElement("progress");
      bar.max = j.rows_total || 1;
      bar.value = j.state === "done" ? bar.max : j.rows_done;
      parts.push(bar);
      var of = j.rows_total === null ? "" : " of " + j.rows_total;
      parts.push(para(j.rows_done + of + " rows labelled (" + j.state + ")"));
      (j.warnings || []).forEach(function (w) { parts.push(para("Warning: " + w, "note")); });
      if (j.state === "failed") parts.push(para("Error: " + j.error, "error"));
      if (j.state === "done") {
        var a = document.createElement("a");
        a.href = j.download_url;
        a.textContent = "Download the labelled CSV";
        a.id = "csv-download";
        var p = document.createElement("p");
        p.appendChild(a);
        parts.push(p);
        if (j.summary) {
          parts.push(para(j.summary.rows + " rows, " + j.summary.errors + " with errors, " +
            j.summary.warnings + " with warnings, " + j.summary.to_review + " to review, in " +
            j.summary.seconds + " s"));
        }
        if (j.shares) parts.push(sharesTable(j.shares));
        if (j.shares_plot_url) {
          var img = document.createElement("img");
          img.src = j.shares_plot_url;
          img.alt = "Role shares of the file, with 90% intervals";
          img.id = "shares-plot";
          img.className = "shares-plot";
          parts.push(img);
        }
      }
      show(parts);
      if (j.state === "running") setTimeout(function () { poll(j); }, 700);
    }).catch(function (e) { show([para("Error: " + e, "error")]); });
  }

  function sharesTable(shares) {
    var table = document.createElement("table");
    table.id = "shares";
    table.className = "scores";
    var caption = document.createElement("caption");
    caption.textContent = "Role shares (" + shares.method + ", " +
      Math.round(shares.confidence * 100) + "% intervals) of " + shares.used_rows + " rows";
    table.appendChild(caption);
    shares.shares.forEach(function (s) {
      var tr = document.createElement("tr");
      [s.role, (100 * s.share).toFixed(1) + "%",
       (100 * s.low).toFixed(1) + "–" + (100 * s.high).toFixed(1) + "%"].forEach(function (t) {
        var td = document.createElement("td");
        td.textContent = t;
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    return table;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    show([para("Uploading…")]);
    fetch(form.action, { method: "POST", body: new FormData(form) }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
    }).then(function (res) {
      button.disabled = false;
      if (!res.ok) { show([para("Error: " + detail(res.body, res.status), "error")]); return; }
      poll(res.body);
    }).catch(function (e) {
      button.disabled = false;
      show([para("Error: " + e, "error")]);
    });
  });
})();
