/*
 * groundedqa clinic console (GET /admin/): documents, "Try it", evaluation, feedback, coverage
 * gaps, on the admin routes (/v1/admin/*) and the patient routes the widget uses.
 *
 * No build step and no dependencies. The admin key lives in sessionStorage only and goes out as
 * X-Admin-Key; every server value is inserted as text (textContent / text nodes), never parsed
 * as HTML; charts are SVG elements made here. The page's CSP allows only this origin's scripts
 * and styles, so nothing here uses inline style attributes.
 */
(() => {
  "use strict";

  const KEY_STORAGE = "groundedqa-admin-key";
  const STATUS_POLL_MS = 2000;
  const EVAL_POLL_MS = 1000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PERIODS = [["30", "Last 30 days"], ["90", "Last 90 days"], ["365", "Last 12 months"],
    ["", "Everything kept"]];

  const $ = (id) => document.getElementById(id);

  /** createElement with attributes and children; strings become text nodes, never markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttributes(node, attrs);
    for (const child of children.flat()) if (child != null && child !== false) node.append(child);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttributes(node, attrs);
    for (const child of children.flat()) if (child != null) node.append(child);
    return node;
  }

  function setAttributes(node, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value == null) continue;
      if (name === "class") node.setAttribute("class", value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  /** "2026-05-01T09:30:12+00:00" -> "2026-05-01 09:30" (times are UTC, as the server keeps them). */
  function when(iso) {
    return iso ? iso.slice(0, 16).replace("T", " ") : "";
  }

  function percent(part, whole) {
    return whole ? `${Math.round((100 * part) / whole)}%` : "–";
  }

  // ---------------------------------------------------------------------------------------------
  // the admin key and requests
  // ---------------------------------------------------------------------------------------------

  let adminKey = sessionStorage.getItem(KEY_STORAGE) || "";

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** fetch with the admin key; JSON (or the raw Response for `raw`); ApiError with the server's
   * own message for anything but 2xx. A 401 anywhere means the key stopped working. */
  async function api(path, options = {}, raw = false) {
    const headers = { Accept: raw ? "*/*" : "application/json", "X-Admin-Key": adminKey,
      ...(options.headers || {}) };
    let response;
    try {
      response = await fetch(path, { ...options, headers });
    } catch (_) {
      throw new ApiError(0, "The server could not be reached. Check the connection and try again.");
    }
    if (response.status === 401 && adminKey) {
      signOut("Your admin key is no longer accepted. Sign in again.");
    }
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      const message = body && body.error && body.error.message;
      throw new ApiError(response.status, message || `The server answered ${response.status}.`);
    }
    return raw ? response : response.json();
  }

  /** Fetch a CSV with the key and hand it to the browser as a download. */
  async function download(path, fallbackName) {
    const response = await api(path, {}, true);
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: match ? match[1] : fallbackName, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---------------------------------------------------------------------------------------------
  // sign in / out
  // ---------------------------------------------------------------------------------------------

  const signInError = $("sign-in-error");

  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("admin-key").value.trim();
    show(signInError, false);
    if (!key) return refuse("Enter the admin key.");
    const refusal = await checkKey(key);
    if (refusal) return refuse(refusal);
    $("admin-key").value = "";
    adminKey = key;
    sessionStorage.setItem(KEY_STORAGE, key);
    enterConsole(true);
  });

  /** Null when `key` admits, else what to tell the person. */
  async function checkKey(key) {
    let response;
    try {
      response = await fetch("/v1/admin/status", { headers: { "X-Admin-Key": key,
        Accept: "application/json" } });
    } catch (_) {
      return "The server could not be reached. Check the connection and try again.";
    }
    if (response.ok) return null;
    if (response.status === 401) return "That admin key was not accepted. Check it and try again.";
    const body = await response.json().catch(() => null);
    return (body && body.error && body.error.message) || `The server answered ${response.status}.`;
  }

  function refuse(message) {
    signInError.textContent = message;
    show(signInError, true);
    $("admin-key").focus();
  }

  function signOut(message) {
    adminKey = "";
    sessionStorage.removeItem(KEY_STORAGE);
    stopPolling();
    show($("console"), false);
    show($("nav"), false);
    show($("sign-out"), false);
    show($("sign-in"), true);
    if (message) refuse(message);
    else $("admin-key").focus();
  }

  $("sign-out").addEventListener("click", () => signOut(null));

  function enterConsole(focus) {
    if (window.GroundedQAWidget) window.GroundedQAWidget.setHeaders({ "X-Admin-Key": adminKey });
    show($("sign-in"), false);
    show($("console"), true);
    show($("nav"), true);
    show($("sign-out"), true);
    if (focus) $("documents-h").focus();
    startPolling();
    loadEvalRuns();
    loadFeedback();
    loadGaps();
  }

  // ---------------------------------------------------------------------------------------------
  // documents: build status (polled), table, upload, delete
  // ---------------------------------------------------------------------------------------------

  let pollTimer = null;
  let lastStatus = "";

  function startPolling() {
    stopPolling();
    lastStatus = "";
    pollStatus();
  }

  function stopPolling() {
    clearTimeout(pollTimer);
    pollTimer = null;
  }

  async function pollStatus() {
    if (!adminKey) return;
    try {
      const status = await api("/v1/admin/status");
      const text = JSON.stringify(status);
      if (text !== lastStatus) {
        lastStatus = text;
        renderStatus(status);
        await loadDocuments();
      }
      $("status-checked").textContent = `Checked ${new Date().toLocaleTimeString()}; ` +
        "refreshes by itself.";
    } catch (error) {
      $("status-checked").textContent = `Could not check the build status: ${error.message}`;
    }
    if (adminKey) pollTimer = setTimeout(pollStatus, STATUS_POLL_MS);
  }

  function describeChange(change) {
    const what = change.action === "delete" ? "delete" : "upload";
    return `${what} ${change.doc_id}`;
  }

  function renderStatus(status) {
    const fields = {
      live: status.live || "none: no index is serving yet",
      building: status.building
        ? `since ${when(status.building.since)}: ${status.building.changes.map(describeChange).join(", ")}`
        : "none",
      pending: status.pending.length ? status.pending.map(describeChange).join(", ") : "none",
      last_error: status.last_error || "none",
    };
    for (const [name, text] of Object.entries(fields)) {
      const dd = $("build-status").querySelector(`[data-field="${name}"]`);
      dd.textContent = text;
      dd.classList.toggle("bad", name === "last_error" && Boolean(status.last_error));
    }
  }

  let lastUpload = null; // {doc_id, version} until the console has seen it live

  async function loadDocuments() {
    const docs = await api("/v1/admin/documents");
    const uploaded = lastUpload && docs.find((d) => d.doc_id === lastUpload.doc_id);
    if (uploaded && uploaded.live && uploaded.version === lastUpload.version) {
      $("upload-result").replaceChildren(el("p", { class: "ok", "data-testid": "upload-live" },
        `${uploaded.doc_id} is live: patients' answers can quote it now.`));
      lastUpload = null;
    }
    const body = $("doc-table").tBodies[0];
    body.replaceChildren(...docs.map(documentRow));
    if (!docs.length) {
      body.append(el("tr", {}, el("td", { colspan: 10 }, "No documents yet: upload one above.")));
    }
  }

  function documentRow(doc) {
    const meta = doc.metadata || {};
    const type = [doc.format ? doc.format.toUpperCase() : null, meta.doc_type].filter(Boolean)
      .join(" · ");
    const pending = doc.pending || [];
    const last = pending[pending.length - 1];
    // Not live, not skipped, nothing queued: deleted, its versions kept for old citations.
    let state = doc.live ? "live" : doc.skipped ? "skipped" : last ? "not live yet" :
      "deleted (earlier versions kept for old answers' citations)";
    if (last) {
      const verb = last.action === "delete" ? "deletion" : "upload";
      state += `; ${verb} ${last.status === "building" ? "building" : "queued"}`;
    }
    // Only what is in the corpus folder can be deleted.
    const inCorpus = last ? last.action !== "delete" : doc.live || Boolean(doc.skipped);
    let remove = "–";
    if (inCorpus) {
      remove = el("button", { type: "button", class: "danger small",
        "aria-label": `Delete ${doc.doc_id}` }, "Delete");
      remove.addEventListener("click", () => deleteDocument(doc.doc_id, remove));
    }
    const version = doc.version ? el("code", { title: doc.version }, doc.version.slice(0, 10)) : "–";
    return el("tr", { "data-doc-id": doc.doc_id },
      el("th", { scope: "row" }, el("code", {}, doc.doc_id)),
      el("td", {}, doc.title || ""),
      el("td", {}, type || "–"),
      el("td", { class: "n" }, doc.pages ? String(doc.pages) : "–"),
      el("td", { class: "n" }, String(doc.sentences || 0)),
      el("td", {}, version),
      el("td", { class: "date" }, when(doc.updated) || "–"),
      el("td", { "data-col": "state" }, state),
      el("td", {}, doc.skipped || "–"),
      el("td", {}, remove));
  }

  async function deleteDocument(docId, button) {
    const ok = window.confirm(`Delete ${docId}? It leaves the index at the next build; answers ` +
      "that quoted it can still open the version they quoted for a while.");
    if (!ok) return;
    button.disabled = true;
    const notice = $("doc-action");
    try {
      await api(`/v1/admin/documents/${encodeURIComponent(docId)}`, { method: "DELETE" });
      notice.textContent = `Deletion of ${docId} queued: it leaves the live index with the next build.`;
      notice.classList.remove("bad");
    } catch (error) {
      notice.textContent = `${docId} was not deleted: ${error.message}`;
      notice.classList.add("bad");
      button.disabled = false;
    }
    show(notice, true);
    lastStatus = "";
    startPolling();
  }

  /** The id the server would derive from a file name (ingest/load.py safe_doc_id). */
  function docIdFrom(fileName) {
    const stem = fileName.replace(/\.[^.]*$/, "");
    const slug = stem.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-").replace(/-{2,}/g, "-").replace(/^[-._]+|[-._]+$/g, "");
    return slug || "doc";
  }

  $("doc-file").addEventListener("change", () => {
    const file = $("doc-file").files[0];
    $("doc-id").placeholder = file ? docIdFrom(file.name) : "";
  });

  $("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = $("upload-result");
    const file = $("doc-file").files[0];
    if (!file) {
      result.replaceChildren(el("p", { class: "error", role: "alert" },
        "Choose a document file first."));
      $("doc-file").focus();
      return;
    }
    const docId = $("doc-id").value.trim() || docIdFrom(file.name);
    const form = new FormData();
    form.append("file", file, file.name);
    for (const name of ["title", "url", "publisher", "author", "date", "type"]) {
      const value = $(`doc-${name}`).value.trim();
      if (value) form.append(name, value);
    }
    const button = event.submitter || $("upload-form").querySelector("button[type=submit]");
    button.disabled = true;
    result.replaceChildren(el("p", { class: "hint" }, `Uploading ${file.name}…`));
    try {
      const accepted = await api(`/v1/admin/documents/${encodeURIComponent(docId)}`,
        { method: "PUT", body: form });
      result.replaceChildren(el("p", { class: "ok", "data-testid": "upload-accepted" },
        `Accepted ${accepted.doc_id} (version ${accepted.version.slice(0, 10)}): queued for the ` +
        "next build. It is listed as live once the build is done."));
      lastUpload = { doc_id: accepted.doc_id, version: accepted.version };
      $("upload-form").reset();
      $("doc-id").placeholder = "";
    } catch (error) {
      result.replaceChildren(el("p", { class: "error", role: "alert",
        "data-testid": "upload-refused" }, `${file.name} was not accepted: ${error.message}. ` +
        "Nothing was changed."));
    } finally {
      button.disabled = false;
    }
    lastStatus = "";
    startPolling();
  });

  // ---------------------------------------------------------------------------------------------
  // Try it: the widget shows the patient's view; the clinician's view is built here
  // ---------------------------------------------------------------------------------------------

  $("try-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    const error = $("try-error");
    show(error, false);
    if (!question) {
      error.textContent = "Type a question first.";
      show(error, true);
      $("question").focus();
      return;
    }
    if (!window.GroundedQAWidget) {
      error.textContent = "The widget script did not load, so answers cannot be shown.";
      show(error, true);
      return;
    }
    const button = event.submitter || $("try-form").querySelector("button[type=submit]");
    button.disabled = true;
    $("clinician-body").replaceChildren(el("p", { class: "hint" }, "Asking…"));
    try {
      const result = await window.GroundedQAWidget.ask(question);
      if (result && result.body && Array.isArray(result.body.sentences)) {
        renderClinician(result.body);
      } else {
        $("clinician-body").replaceChildren(el("p", { class: "error" },
          "No answer: see the message in the patient's view."));
      }
    } finally {
      button.disabled = false;
    }
  });

  function renderClinician(body) {
    const facts = el("dl", { class: "facts" },
      el("dt", {}, "Confidence"),
      el("dd", { "data-testid": "confidence" }, typeof body.confidence === "number"
        ? body.confidence.toFixed(2) : "not reported by this server"),
      el("dt", {}, "Urgent"), el("dd", {}, body.urgent ? "yes: seek-care banner shown" : "no"),
      el("dt", {}, "Abstained"), el("dd", {}, body.abstained ? "yes: the articles do not cover it" : "no"),
      el("dt", {}, "Index build"), el("dd", {}, el("code", {}, body.index || "")));
    const parts = [facts];
    if (body.sentences.length) {
      const byId = new Map(body.citations.map((c) => [c.id, c]));
      const rows = [];
      body.sentences.forEach((sentence, n) => {
        for (const id of sentence.citations) {
          const c = byId.get(id);
          if (c) rows.push(sourceRow(n + 1, sentence.text, c));
        }
      });
      parts.push(el("div", { class: "table-wrap", role: "region", tabindex: "0",
        "aria-label": "Where each sentence comes from" },
      el("table", { "data-testid": "sources-table" },
        el("thead", {}, el("tr", {}, ...["#", "Sentence", "Article", "Section", "Page", "Score", "Quote"]
          .map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows))));
      parts.push(el("p", { class: "hint" }, "A quote button opens the article in the patient's " +
        "view with the sentence highlighted (Esc returns here)."));
    }
    $("clinician-body").replaceChildren(...parts);
  }

  function sourceRow(n, text, c) {
    const section = (c.section || []).filter((h) => h !== c.title).join(" › ") ||
      (c.section && c.section.length ? c.section.join(" › ") : "–");
    const open = el("button", { type: "button", class: "small", "data-testid": "open-quote",
      "aria-label": `Open quote ${c.id} in ${c.title}${Number.isInteger(c.page) ? `, page ${c.page}` : ""}` },
    `[${c.id}]`);
    open.addEventListener("click", () => window.GroundedQAWidget.openCitation(c, open));
    return el("tr", {},
      el("td", { class: "n" }, String(n)),
      el("td", {}, text),
      el("td", {}, c.title, el("br"), el("code", { class: "small-text" }, c.doc_id)),
      el("td", {}, section),
      el("td", { class: "n" }, Number.isInteger(c.page) ? String(c.page) : "–"),
      el("td", { class: "n" }, typeof c.score === "number" ? c.score.toFixed(2) : "–"),
      el("td", {}, open));
  }

  // ---------------------------------------------------------------------------------------------
  // evaluation
  // ---------------------------------------------------------------------------------------------

  let evalTimer = null;

  async function loadEvalRuns() {
    try {
      const data = await api("/v1/admin/eval");
      const select = $("eval-set");
      select.replaceChildren(...data.builtin.map((name) => el("option", { value: name },
        `${name}.jsonl`)));
      if (data.runs.length) followRun(data.runs[0].run_id);
    } catch (error) {
      evalNotice(`Could not load the evaluations: ${error.message}`, true);
    }
  }

  function evalNotice(text, bad) {
    const status = $("eval-status");
    status.textContent = text;
    status.classList.toggle("bad", Boolean(bad));
    show(status, true);
  }

  $("eval-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData();
    const file = $("eval-file").files[0];
    if (file) form.append("file", file, file.name);
    else form.append("questions", $("eval-set").value);
    const button = event.submitter || $("eval-form").querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const run = await api("/v1/admin/eval", { method: "POST", body: form });
      $("eval-result").replaceChildren();
      followRun(run.run_id);
    } catch (error) {
      evalNotice(`The evaluation did not start: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
  });

  async function followRun(runId) {
    clearTimeout(evalTimer);
    let run;
    try {
      run = await api(`/v1/admin/eval/${encodeURIComponent(runId)}`);
    } catch (error) {
      evalNotice(`Could not read evaluation ${runId}: ${error.message}`, true);
      return;
    }
    if (run.status === "queued" || run.status === "running") {
      evalNotice(`Evaluation running on ${run.source}: ${run.done} of ${run.questions} questions ` +
        "answered…", false);
      evalTimer = setTimeout(() => followRun(runId), EVAL_POLL_MS);
      return;
    }
    if (run.status === "failed") {
      evalNotice(`Evaluation on ${run.source} failed: ${run.error}`, true);
      return;
    }
    evalNotice(`Evaluation of ${run.source} finished ${when(run.finished_at)}: ` +
      `${run.metrics.passed} of ${run.metrics.questions} questions passed every check.`, false);
    renderEval(run);
  }

  function renderEval(run) {
    const verdict = run.passed
      ? el("p", { class: "ok", "data-testid": "eval-verdict" }, "All thresholds met.")
      : el("p", { class: "error", "data-testid": "eval-verdict" },
        `Thresholds missed: ${run.missed.join("; ")}.`);
    const metricRows = Object.entries(run.labels).map(([metric, label]) => {
      const value = run.metrics[metric];
      const bound = run.thresholds[metric];
      let status = "–";
      if (bound && value != null) {
        const missed = bound.kind === "max" ? value > bound.bound : value < bound.bound;
        status = missed ? "missed" : "met";
      } else if (bound) status = "nothing to measure";
      return el("tr", { class: status === "missed" ? "failed" : "" },
        el("th", { scope: "row" }, label.label),
        el("td", {}, label.meaning),
        el("td", { class: "n" }, value == null ? "–" : value.toFixed(3)),
        el("td", { class: "n" }, bound ? `${bound.kind === "max" ? "≤" : "≥"} ${bound.bound}` : ""),
        el("td", {}, status));
    });
    const summary = el("div", { class: "table-wrap", role: "region", tabindex: "0",
      "aria-labelledby": "eval-summary-h" },
    el("table", { "data-testid": "eval-summary" },
      el("thead", {}, el("tr", {}, ...["Metric", "What it measures", "Value", "Threshold", "Status"]
        .map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, metricRows)));
    const questionRows = run.results.map((r) => el("tr", { class: r.passed ? "" : "failed" },
      el("td", { class: "n" }, String(r.line)),
      el("td", {}, r.question),
      el("td", {}, r.kind + (r.split ? ` (${r.split})` : "")),
      el("td", { class: "answer-cell" }, r.answer || "–"),
      el("td", {}, el("strong", { class: r.passed ? "pass" : "fail" }, r.passed ? "Passed" : "Failed")),
      el("td", {}, r.failures.length ? el("ul", {}, r.failures.map((f) => el("li", {}, f))) : "–")));
    const csv = el("button", { type: "button", class: "secondary" }, "Download evaluation CSV");
    csv.addEventListener("click", () => download(`/v1/admin/eval/${run.run_id}?format=csv`,
      `eval-${run.run_id}.csv`).catch((error) => evalNotice(error.message, true)));
    $("eval-result").replaceChildren(
      verdict,
      el("h3", { id: "eval-summary-h" }, "Summary against the thresholds"),
      summary,
      el("div", { class: "row" }, el("h3", { id: "eval-questions-h" },
        `Questions (${run.results.length})`), csv),
      el("div", { class: "table-wrap", role: "region", tabindex: "0",
        "aria-labelledby": "eval-questions-h" },
      el("table", { "data-testid": "eval-questions" },
        el("thead", {}, el("tr", {}, ...["Line", "Question", "Kind", "Answer", "Result", "What failed"]
          .map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, questionRows))));
  }

  // ---------------------------------------------------------------------------------------------
  // charts: stacked bars as SVG, with the numbers in a table beside them
  // ---------------------------------------------------------------------------------------------

  /**
   * A stacked bar chart. `labels` name the bars, `series` is [{name, values}] (one value per
   * label); horizontal bars for categories, vertical ones for time. The figure is an image
   * with a text alternative; the exact numbers are in the table the caller puts next to it.
   */
  function barChart({ title, summary, labels, series, horizontal }) {
    const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
    const max = Math.max(1, ...totals);
    const width = 480;
    const id = `chart-${Math.random().toString(36).slice(2, 9)}`;
    const parts = [svg("title", { id: `${id}-t` }, title), svg("desc", { id: `${id}-d` }, summary)];
    let height;
    if (horizontal) {
      const row = 26;
      const left = 170;
      const span = width - left - 40;
      height = labels.length * row + 8;
      labels.forEach((label, i) => {
        const y = 4 + i * row;
        const short = label.length > 26 ? `${label.slice(0, 25)}…` : label;
        parts.push(svg("text", { x: left - 6, y: y + 16, "text-anchor": "end", class: "axis" }, short));
        let x = left;
        series.forEach((s, k) => {
          const w = ((s.values[i] || 0) / max) * span;
          if (w > 0) parts.push(svg("rect", { x, y: y + 3, width: w, height: row - 8, class: `s${k}` }));
          x += w;
        });
        parts.push(svg("text", { x: x + 4, y: y + 16, class: "axis" }, String(totals[i])));
      });
    } else {
      const bottom = 34;
      const top = 14;
      const left = 34;
      height = 200;
      const span = height - bottom - top;
      const slot = (width - left - 8) / Math.max(1, labels.length);
      const barWidth = Math.min(48, slot * 0.7);
      for (const tick of [0, Math.ceil(max / 2), max]) {
        const y = height - bottom - (tick / max) * span;
        parts.push(svg("line", { x1: left, x2: width - 4, y1: y, y2: y, class: "grid" }));
        parts.push(svg("text", { x: left - 4, y: y + 4, "text-anchor": "end", class: "axis" }, String(tick)));
      }
      const every = Math.ceil(labels.length / 8); // at most 8 date labels under the bars
      labels.forEach((label, i) => {
        const x = left + i * slot + (slot - barWidth) / 2;
        let y = height - bottom;
        series.forEach((s, k) => {
          const h = ((s.values[i] || 0) / max) * span;
          if (h > 0) parts.push(svg("rect", { x, y: y - h, width: barWidth, height: h, class: `s${k}` }));
          y -= h;
        });
        if (i % every === 0) {
          parts.push(svg("text", { x: x + barWidth / 2, y: height - bottom + 16, "text-anchor": "middle",
            class: "axis" }, label));
        }
      });
    }
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-labelledby": `${id}-t ${id}-d`, class: "chart" }, parts);
    const legend = el("ul", { class: "legend" }, series.map((s, k) =>
      el("li", {}, el("span", { class: `swatch s${k}`, "aria-hidden": "true" }), s.name)));
    return el("figure", { class: "figure" }, el("figcaption", {}, title), chart, legend);
  }

  function periodSelect(select, load) {
    select.replaceChildren(...PERIODS.map(([value, label]) => el("option", { value }, label)));
    select.value = "90";
    select.addEventListener("change", load);
  }

  function sinceQuery(select) {
    return select.value ? `?since=${encodeURIComponent(select.value)}` : "";
  }

  /** A report for the period chosen in `select`; null, with the reason shown in `target`. */
  async function fetchReport(path, select, target, what) {
    try {
      return await api(path + sinceQuery(select));
    } catch (error) {
      target.replaceChildren(el("p", { class: "error" }, `Could not load ${what}: ${error.message}`));
      return null;
    }
  }

  function tableRegion(label, head, rows, testId) {
    return el("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-label": label },
      el("table", { "data-testid": testId },
        el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows)));
  }

  // ---------------------------------------------------------------------------------------------
  // feedback
  // ---------------------------------------------------------------------------------------------

  periodSelect($("feedback-period"), () => loadFeedback());

  $("feedback-csv").addEventListener("click", () => {
    download(`/v1/admin/feedback${sinceQuery($("feedback-period"))}` +
      `${$("feedback-period").value ? "&" : "?"}format=csv`, "feedback.csv")
      .catch((error) => $("feedback-body").prepend(el("p", { class: "error", role: "alert" },
        `The CSV could not be downloaded: ${error.message}`)));
  });

  async function loadFeedback() {
    const target = $("feedback-body");
    const data = await fetchReport("/v1/admin/feedback", $("feedback-period"), target, "feedback");
    if (!data) return;
    if (!data.total) {
      target.replaceChildren(el("p", { "data-testid": "feedback-summary" },
        "No feedback in this period yet. Patients rate answers with the widget's helpful / not " +
        "helpful buttons."));
      return;
    }
    const articleName = (a) => (a.doc_id ? a.title || a.doc_id : "No article (abstained)");
    const series = (rows) => [
      { name: "Helpful", values: rows.map((r) => r.helpful) },
      { name: "Not helpful", values: rows.map((r) => r.not_helpful) },
    ];
    const parts = [
      el("p", { "data-testid": "feedback-summary" }, `${data.total} ratings: ${data.helpful} ` +
        `helpful (${percent(data.helpful, data.total)}), ${data.not_helpful} not helpful.`),
      el("div", { class: "charts" },
        barChart({ title: "Ratings per week", labels: data.by_week.map((w) => w.week),
          summary: data.by_week.map((w) => `week of ${w.week}: ${w.helpful} helpful, ` +
            `${w.not_helpful} not helpful`).join("; "),
          series: series(data.by_week) }),
        barChart({ title: "Ratings by article", horizontal: true,
          labels: data.by_article.map(articleName),
          summary: data.by_article.map((a) => `${articleName(a)}: ${a.helpful} helpful, ` +
            `${a.not_helpful} not helpful`).join("; "),
          series: series(data.by_article) })),
      el("h3", {}, "By article"),
      tableRegion("Ratings by article", ["Article", "Helpful", "Not helpful", "Helpful share"],
        data.by_article.map((a) => el("tr", {},
          el("th", { scope: "row" }, articleName(a)),
          el("td", { class: "n" }, String(a.helpful)),
          el("td", { class: "n" }, String(a.not_helpful)),
          el("td", { class: "n" }, percent(a.helpful, a.helpful + a.not_helpful)))),
        "feedback-articles"),
      el("h3", {}, "Comments"),
    ];
    if (data.comments.length) {
      parts.push(tableRegion("Comments", ["When", "Rating", "Comment", "Question", "Articles"],
        data.comments.map((c) => el("tr", {},
          el("td", { class: "date" }, when(c.created_at)),
          el("td", {}, c.helpful ? "Helpful" : "Not helpful"),
          el("td", {}, c.comment || "–"),
          el("td", {}, c.question || "–"),
          el("td", {}, c.cited_documents.join(", ") || "–"))), "feedback-comments"));
    } else parts.push(el("p", {}, "No comments in this period."));
    if (!data.store_question_text) {
      parts.push(el("p", { class: "hint" }, "Question text is not stored " +
        "(GROUNDEDQA_STORE_QUESTION_TEXT=false): comments are shown without their questions."));
    }
    target.replaceChildren(...parts);
  }

  // ---------------------------------------------------------------------------------------------
  // coverage gaps
  // ---------------------------------------------------------------------------------------------

  periodSelect($("gaps-period"), () => loadGaps());
  const TOPICS_CHARTED = 5;

  async function loadGaps() {
    const target = $("gaps-body");
    const data = await fetchReport("/v1/admin/gaps", $("gaps-period"), target, "the gaps");
    if (!data) return;
    if (!data.topics.length) {
      target.replaceChildren(el("p", { "data-testid": "gaps-summary" },
        "No coverage gaps in this period: every question was answered."));
      return;
    }
    const charted = data.topics.slice(0, TOPICS_CHARTED);
    const rest = data.topics.slice(TOPICS_CHARTED);
    const series = charted.map((t) => ({ name: `${t.number}: ${t.label}`, values: t.weekly }));
    if (rest.length) {
      series.push({ name: "other topics",
        values: data.weeks.map((_, i) => rest.reduce((sum, t) => sum + t.weekly[i], 0)) });
    }
    const parts = [
      el("p", { "data-testid": "gaps-summary" }, `${data.total} questions in ` +
        `${data.topics.length} topics.`),
      el("div", { class: "charts" },
        barChart({ title: "Gap questions per week, by topic", labels: data.weeks, series,
          summary: data.weeks.map((w, i) => `week of ${w}: ` +
            `${data.topics.reduce((sum, t) => sum + t.weekly[i], 0)} questions`).join("; ") }),
        barChart({ title: "Questions per topic", horizontal: true,
          labels: data.topics.map((t) => `${t.number}: ${t.label}`),
          summary: data.topics.map((t) => `topic ${t.number} (${t.label}): ${t.total}`).join("; "),
          series: [{ name: "Abstained", values: data.topics.map((t) => t.abstained) },
            { name: "Low confidence", values: data.topics.map((t) => t.low_confidence) }] })),
      el("h3", {}, "Topics"),
      tableRegion("Coverage-gap topics", ["#", "Topic", "Questions", "Last 30 days", "Abstained",
        "Low confidence", "First seen", "Last seen", "Examples"],
      data.topics.map((t) => el("tr", {},
        el("td", { class: "n" }, String(t.number)),
        el("th", { scope: "row" }, t.label),
        el("td", { class: "n" }, String(t.total)),
        el("td", { class: "n" }, String(t.last_30_days)),
        el("td", { class: "n" }, String(t.abstained)),
        el("td", { class: "n" }, String(t.low_confidence)),
        el("td", { class: "date" }, when(t.first_seen).slice(0, 10)),
        el("td", { class: "date" }, when(t.last_seen).slice(0, 10)),
        el("td", {}, t.examples.length ? el("ul", {}, t.examples.map((x) => el("li", {}, x))) : "–"))),
      "gap-topics"),
    ];
    if (!data.with_text) {
      parts.push(el("p", { class: "hint" }, "Question text is not stored " +
        "(GROUNDEDQA_STORE_QUESTION_TEXT=false): topics are numbered, without terms or examples."));
    }
    target.replaceChildren(...parts);
  }

  // ---------------------------------------------------------------------------------------------
  // start
  // ---------------------------------------------------------------------------------------------

  (async () => {
    if (!adminKey) return;
    const refusal = await checkKey(adminKey);
    if (refusal) signOut(refusal);
    else enterConsole(false);
  })();
})();
