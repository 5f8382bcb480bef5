// The review page: GET the current posting, answer with keys 1-8 (a role), s (skip), u (undo).
// Text is rendered as text nodes only (never innerHTML), so a posting cannot inject markup.
"use strict";
(() => {
  let current = null;
  let busy = false;
  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function render(data) {
    current = data;
    $("error").hidden = true;
    $("progress").textContent = data.done
      ? `${data.answered} answered, ${data.total} in the queue`
      : `${data.position + 1} of ${data.total} · ${data.answered} answered · saved to ${data.corrections_file}`;
    $("posting").hidden = data.done;
    $("done").hidden = !data.done;
    $("undo").disabled = !data.can_undo;
    $("undo-done").disabled = !data.can_undo;
    if (data.done) { $("file").textContent = data.corrections_file; return; }
    $("title").textContent = data.title || "(no title)";
    const top = data.top.map((t) => `${t.label} ${t.score.toFixed(2)}`).join(", ");
    $("model").textContent = `Model: ${data.predicted_role} (${data.review}) · top roles: ${top}`;
    const keys = $("keys");
    keys.replaceChildren();
    data.labels.forEach((label, i) => {
      const b = el("button");
      b.type = "button";
      b.dataset.role = label;
      b.append(el("kbd", String(i + 1)), document.createTextNode(` ${label}`));
      b.setAttribute("aria-keyshortcuts", String(i + 1));
      if (label === data.predicted_role) b.classList.add("predicted");
      b.addEventListener("click", () => send("answer", label));
      keys.append(b);
    });
    const text = $("text");
    text.replaceChildren(...data.segments.map((s) => (s.mark ? el("mark", s.text) : document.createTextNode(s.text))));
  }

  async function call(path, body) {
    const init = body === undefined ? {} : {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    };
    const r = await fetch(`/api/review/${path}`, init);
    const data = await r.json();
    if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : r.statusText);
    return data;
  }

  async function send(action, role) {
    if (busy || !current) return;
    if (action !== "undo" && current.done) return;
    busy = true;
    try {
      const before = current;
      const data = await call(action, action === "undo" ? {} : { id: current.id, role: role || "" });
      render(data);
      $("status").textContent = action === "answer" ? `saved: ${before.title || before.id} → ${role}`
        : action === "skip" ? `skipped: ${before.title || before.id}` : "undone";
    } catch (e) {
      $("error").textContent = e.message;
      $("error").hidden = false;
    } finally {
      busy = false;
    }
  }

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || !current) return;
    if (e.key === "s") { send("skip"); e.preventDefault(); }
    else if (e.key === "u") { send("undo"); e.preventDefault(); }
    else if (/^[1-9]$/.test(e.key) && !current.done) {
      const label = current.labels[Number(e.key) - 1];
      if (label) { send("answer", label); e.preventDefault(); }
    }
  });
  document.addEventListener("DOMContentLoaded", () => {
    $("skip").addEventListener("click", () => send("skip"));
    $("undo").addEventListener("click", () => send("undo"));
    $("undo-done").addEventListener("click", () => send("undo"));
    call("current").then(render).catch((e) => { $("error").textContent = e.message; $("error").hidden = false; });
  });
})();
