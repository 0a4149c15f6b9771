/*
 * groundedqa chat widget. One tag adds an "Ask our clinic" panel to any page:
 *
 *   <script src="https://qa.example-clinic.org/widget.js"
 *           data-endpoint="https://qa.example-clinic.org" data-api-key="optional" defer></script>
 *
 * data-endpoint defaults to the origin the script was loaded from; data-title renames the panel.
 * data-container="ID" shows the panel open inside that element instead, without launcher, question
 * box or feedback buttons: a page that asks through GroundedQAWidget.ask (the clinic console's
 * "Try it") shows its answers exactly as patients see them.
 * Every question, answer and article text is inserted as text (textContent / text nodes),
 * never parsed as HTML. Styles live in an open shadow root, so the page's CSS and the
 * widget's do not leak into each other.
 *
 * Each answer has helpful / not helpful buttons (POST /v1/feedback with its answer_id), and a
 * citation opens the article in the version it quoted (`doc_version`), so an answer given before
 * the article changed still highlights the right sentence.
 *
 * The panel keeps the conversation (the patient's messages, and whether one reported a red flag)
 * in the page's sessionStorage and sends the earlier messages as `history` with each question:
 * the server keeps no state. "New conversation" forgets them. Once an answer was urgent, every
 * later answer of the conversation shows the seek-care banner. The inline panel (data-container)
 * answers each question on its own.
 *
 * Citation offsets from the server count Unicode code points; JavaScript strings count UTF-16
 * units, so the article text is sliced with Array.from (code points) to stay exact for
 * characters outside the BMP.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  if (!script || window.GroundedQAWidget) return; // one panel per page, even if included twice

  const endpoint = (script.dataset.endpoint || new URL(script.src, location.href).origin)
    .replace(/\/+$/, "");
  const apiKey = script.dataset.apiKey || "";
  const panelTitle = script.dataset.title || "Ask our clinic";
  const containerId = script.dataset.container || "";
  let extraHeaders = {}; // GroundedQAWidget.setHeaders: the console's admin key

  const TEXT = {
    abstained: "Our articles don't cover this question.",
    urgentTitle: "Please seek medical care now",
    urgentFallback: "Your question describes warning signs that need urgent medical attention. " +
      "Contact your doctor or emergency services now.",
    redFlagsTitle: "Get medical help right away if you have:",
    safetyFallback: "If you think this is an emergency, call your local emergency number now.",
    network: "We couldn't reach the clinic's service. Please try again in a moment.",
    loading: "Searching our articles…",
    intro: "Answers are quoted word for word from our clinic's articles, with their sources. " +
      "They are general information, not medical advice.",
    feedbackQuestion: "Was this answer helpful?",
    helpful: "Yes, helpful",
    notHelpful: "No, not helpful",
    feedbackThanks: "Thank you for your feedback.",
    feedbackFailed: "Your feedback could not be sent. Please try again.",
    olderVersion: "This is the version of the article the answer quoted; it has been updated since.",
    newConversation: "New conversation",
    newConversationDone: "New conversation started. Earlier messages will not be used.",
    continuing: "Continuing your conversation: your earlier messages are used to understand " +
      "follow-up questions.",
    followUp: "Read together with your earlier messages.",
  };
  //: The most recent earlier messages the server reads (it ignores older ones).
  const MAX_HISTORY = 10;
  const STORAGE_KEY = "groundedqa-conversation:" + (script.dataset.endpoint ||
    new URL(script.src, location.href).origin);

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    .root { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
            color: #1d232a; }
    button, textarea { font: inherit; }
    :focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
    .launcher { position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
                padding: 12px 18px; border: 0; border-radius: 999px; cursor: pointer;
                background: #0b5e6b; color: #fff; font-weight: 600;
                box-shadow: 0 4px 14px rgba(0,0,0,.25); }
    .panel { position: fixed; right: 16px; bottom: 76px; z-index: 2147483001;
             width: min(420px, calc(100vw - 32px)); height: min(640px, calc(100vh - 100px));
             display: flex; flex-direction: column; overflow: hidden;
             background: #fff; border: 1px solid #c7d0d8; border-radius: 12px;
             box-shadow: 0 10px 30px rgba(0,0,0,.25); }
    .panel[hidden], [hidden] { display: none !important; }
    .head { display: flex; align-items: center; gap: 8px; padding: 10px 12px;
            background: #0b5e6b; color: #fff; }
    .head h2 { flex: 1; margin: 0; font-size: 17px; }
    .new-conversation { padding: 6px 10px; border: 1px solid #fff; border-radius: 6px;
                        background: transparent; color: #fff; cursor: pointer; font-size: 13px; }
    .icon { border: 0; background: transparent; color: inherit; cursor: pointer;
            min-width: 40px; min-height: 40px; font-size: 22px; line-height: 1; border-radius: 6px; }
    .body { flex: 1; overflow-y: auto; overflow-x: hidden; padding: 12px; }
    .intro { margin: 0 0 12px; color: #4a5661; font-size: 13px; }
    .turn { margin: 0 0 18px; }
    .question { margin: 0 0 8px auto; max-width: 90%; width: fit-content; padding: 8px 12px;
                border-radius: 12px 12px 2px 12px; background: #e3f1f3;
                white-space: pre-wrap; overflow-wrap: anywhere; }
    .reply > * { margin: 0 0 10px; }
    .answer, .reply p, .reply li, .article { overflow-wrap: anywhere; }
    .urgent { padding: 12px; border-radius: 8px; background: #b3261e; color: #fff; }
    .urgent strong { display: block; font-size: 16px; margin-bottom: 4px; }
    .urgent p { margin: 0; }
    .abstained { font-weight: 600; }
    .block { margin: 0 0 10px; padding-left: 10px; border-left: 3px solid #c7d0d8; }
    .block-title { margin: 0 0 4px; color: #4a5661; font-size: 12px; font-weight: 600; }
    .block-section { font-weight: 400; }
    .block-text { margin: 0; }
    .note { color: #4a5661; font-size: 13px; }
    sup { font-size: 100%; line-height: 1; vertical-align: 0.45em; }
    .cite { display: inline-block; margin: 0 1px; padding: 1px 5px; min-width: 22px;
            border: 1px solid #0b5e6b; border-radius: 4px; background: #fff; color: #0b5e6b;
            font-size: 11px; line-height: 1.2; cursor: pointer; }
    .cite:hover { background: #e3f1f3; }
    .sources h3, .redflags h3, .viewer h3 { margin: 0 0 6px; font-size: 14px; }
    .sources ul { margin: 0; padding-left: 0; list-style: none; font-size: 13px; }
    .sources li { margin: 0 0 4px; }
    a { color: #0b5e6b; }
    .redflags { padding: 10px 12px; border-left: 5px solid #b3261e; border-radius: 6px;
                background: #fdf0ef; }
    .redflags ul { margin: 0; padding-left: 18px; }
    .disclaimer { color: #4a5661; font-size: 12px; }
    .error { padding: 10px 12px; border-radius: 6px; background: #fff4ce; }
    .status { color: #4a5661; font-style: italic; }
    .form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #c7d0d8; }
    .form textarea { flex: 1; min-width: 0; min-height: 44px; max-height: 120px; resize: vertical;
                     padding: 8px; border: 1px solid #8a96a1; border-radius: 8px; }
    .send { padding: 0 16px; border: 0; border-radius: 8px; background: #0b5e6b; color: #fff;
            font-weight: 600; cursor: pointer; }
    .send:disabled { opacity: .6; cursor: wait; }
    .viewer-head { position: sticky; top: -12px; margin: -12px -12px 10px; padding: 10px 12px;
                   background: #fff; border-bottom: 1px solid #c7d0d8; }
    .page-note { margin: 4px 0 0; color: #4a5661; font-size: 13px; }
    .back { border: 1px solid #0b5e6b; border-radius: 6px; background: #fff; color: #0b5e6b;
            padding: 6px 10px; cursor: pointer; margin-bottom: 8px; }
    .article { white-space: pre-wrap; font-size: 14px; }
    .article mark { background: #ffe066; color: inherit; padding: 1px 0; border-radius: 2px; }
    .feedback { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; font-size: 13px;
                color: #4a5661; }
    .feedback button { padding: 4px 10px; border: 1px solid #0b5e6b; border-radius: 6px;
                       background: #fff; color: #0b5e6b; cursor: pointer; }
    .feedback button[aria-pressed="true"] { background: #0b5e6b; color: #fff; }
    .feedback button:disabled { opacity: .6; cursor: wait; }
    .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden;
               clip: rect(0 0 0 0); white-space: nowrap; }
    @media (max-width: 480px) {
      .launcher { right: 8px; bottom: 8px; }
      .panel { left: 8px; right: 8px; bottom: 64px; width: auto; height: calc(100vh - 76px); }
    }
    .root.inline .panel { position: relative; left: auto; right: auto; bottom: auto; z-index: auto;
                          width: 100%; height: min(640px, 80vh); box-shadow: none; }
  `;

  /** createElement with attributes and children; strings become text nodes, never markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value == null) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  function isWebUrl(url) {
    try {
      return ["http:", "https:"].includes(new URL(url).protocol);
    } catch (_) {
      return false;
    }
  }

  function requestHeaders(json) {
    const headers = { Accept: "application/json", ...extraHeaders };
    if (json) headers["Content-Type"] = "application/json";
    if (apiKey) headers["X-API-Key"] = apiKey;
    return headers;
  }

  // ---------------------------------------------------------------------------------------------
  // panel
  // ---------------------------------------------------------------------------------------------

  const host = el("div", { "data-groundedqa-widget": "" });
  const shadow = host.attachShadow({ mode: "open" });
  const root = el("div", { class: containerId ? "root inline" : "root" });
  if (window.CSSStyleSheet && "adoptedStyleSheets" in shadow) {
    // A constructed sheet is not inline style: pages whose CSP has no 'unsafe-inline' style
    // (the console's) apply it too.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else shadow.append(el("style", {}, CSS));
  shadow.append(root);

  const launcher = el("button", {
    type: "button", class: "launcher", "data-testid": "gqa-launcher",
    "aria-expanded": "false", "aria-controls": "gqa-panel",
  }, panelTitle);
  const closeButton = el("button", {
    type: "button", class: "icon", "aria-label": "Close", "data-testid": "gqa-close",
  }, "×");
  const newButton = el("button", {
    type: "button", class: "new-conversation", "data-testid": "gqa-new-conversation",
  }, TEXT.newConversation);
  const log = el("div", {
    class: "body", role: "log", "aria-live": "polite",
    // The host page's own question field is the only one named "question" there.
    "aria-label": containerId ? "Answers as a patient sees them" : "Questions and answers",
    "data-testid": "gqa-log", tabindex: "0",
  }, el("p", { class: "intro" }, TEXT.intro));
  const viewer = el("div", {
    class: "body viewer", role: "region", "aria-label": "Source article",
    "data-testid": "gqa-viewer", hidden: true,
  });
  const input = el("textarea", {
    id: "gqa-input", rows: "2", maxlength: "1000", "data-testid": "gqa-input",
    placeholder: "Type your question…", autocomplete: "off",
  });
  const sendButton = el("button", { type: "submit", class: "send", "data-testid": "gqa-send" },
    "Ask");
  const form = el("form", { class: "form", "data-testid": "gqa-form" },
    el("label", { for: "gqa-input", class: "sr-only" }, "Your question"), input, sendButton);
  const panel = el("section", {
    id: "gqa-panel", class: "panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "gqa-title", "data-testid": "gqa-panel", hidden: true,
  },
  el("div", { class: "head" }, el("h2", { id: "gqa-title" }, panelTitle), newButton, closeButton),
  log, viewer, form);
  if (containerId) { // always open, asked by the host page
    panel.hidden = false;
    closeButton.hidden = true;
    newButton.hidden = true;
    form.remove();
    root.append(panel);
  } else root.append(launcher, panel);

  // ---------------------------------------------------------------------------------------------
  // the conversation (sessionStorage: this tab only, gone when it closes)
  // ---------------------------------------------------------------------------------------------

  /** {messages: [the patient's earlier questions], urgent: bool, urgentMessage: string|null} */
  function loadConversation() {
    const empty = { messages: [], urgent: false, urgentMessage: null };
    if (containerId) return empty;
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
      if (saved && Array.isArray(saved.messages) &&
          saved.messages.every((m) => typeof m === "string")) {
        return { messages: saved.messages.slice(-MAX_HISTORY), urgent: saved.urgent === true,
          urgentMessage: typeof saved.urgentMessage === "string" ? saved.urgentMessage : null };
      }
    } catch (_) { /* storage blocked or corrupt: start afresh */ }
    return empty;
  }

  function saveConversation() {
    if (containerId) return;
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(conversation));
    } catch (_) { /* storage blocked: the conversation lasts as long as the page */ }
  }

  let conversation = loadConversation();
  if (conversation.messages.length) {
    log.append(el("p", { class: "note", "data-testid": "gqa-continuing" }, TEXT.continuing));
  }

  function newConversation() {
    conversation = { messages: [], urgent: false, urgentMessage: null };
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch (_) { /* nothing stored */ }
    closeViewer(null);
    log.replaceChildren(el("p", { class: "intro" }, TEXT.intro),
      el("p", { class: "note", role: "status", "data-testid": "gqa-new-conversation-done" },
        TEXT.newConversationDone));
    if (!containerId) input.focus();
  }
  newButton.addEventListener("click", newConversation);

  let lastSafety = null; // red flags + disclaimer of the last response, for network errors
  const documents = new Map(); // doc_id -> Promise of the document body

  function openPanel() {
    if (containerId) return;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    input.focus();
  }

  function closePanel() {
    closeViewer(null);
    if (containerId) return;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", () => (panel.hidden ? openPanel() : closePanel()));
  closeButton.addEventListener("click", closePanel);
  panel.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    if (!viewer.hidden) closeViewer(viewerOpener);
    else if (!containerId) closePanel();
  });
  input.addEventListener("keydown", (event) => {
    // Enter asks, Shift+Enter is a new line; not while an input method is composing.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (question && !sendButton.disabled) ask(question);
  });

  // ---------------------------------------------------------------------------------------------
  // asking
  // ---------------------------------------------------------------------------------------------

  /** Ask and show the reply; resolves to {status, body} (null when no HTTP answer came back). */
  async function ask(question) {
    input.value = "";
    sendButton.disabled = true;
    const reply = el("div", { class: "reply", "data-testid": "gqa-reply" },
      el("p", { class: "status", "data-testid": "gqa-loading" }, TEXT.loading));
    const turn = el("article", { class: "turn", "data-testid": "gqa-turn" },
      el("p", { class: "question", "data-testid": "gqa-question" }, question), reply);
    closeViewer(null);
    log.append(turn);
    scrollWithin(log, turn, 0);
    let result = null;
    const history = conversation.messages.slice(-MAX_HISTORY);
    try {
      result = await postQuestion(question, history);
    } catch (_) {
      // fetch rejects only when no HTTP answer came back (offline, CORS refused, server down)
    }
    try {
      reply.replaceChildren();
      if (!result) renderError(reply, TEXT.network, null);
      else if (result.response.ok && result.body && Array.isArray(result.body.sentences)) {
        remember(question, result.body);
        renderAnswer(reply, result.body);
      } else renderError(reply, errorMessage(result.response, result.body), result.body);
    } finally { // the next question must stay possible whatever happened above
      sendButton.disabled = false;
      scrollWithin(log, turn, 0);
      if (!containerId) input.focus();
    }
    return result && { status: result.response.status, body: result.body };
  }

  async function postQuestion(question, history) {
    const payload = history.length ? { question, history } : { question };
    const response = await fetch(endpoint + "/v1/answer", {
      method: "POST", headers: requestHeaders(true), body: JSON.stringify(payload),
    });
    const body = await response.json().catch(() => null);
    return { response, body };
  }

  /** An answered question joins the conversation; an urgent answer makes it urgent for good. */
  function remember(question, body) {
    if (containerId) return;
    conversation.messages = [...conversation.messages, question].slice(-MAX_HISTORY);
    if (body.urgent) {
      conversation.urgent = true;
      conversation.urgentMessage = body.urgent_message || conversation.urgentMessage;
    }
    saveConversation();
  }

  function errorMessage(response, body) {
    const detail = body && body.error && body.error.message;
    if (response.status === 429) {
      const wait = response.headers.get("Retry-After");
      return "Too many questions at once. Please wait" + (wait ? ` ${wait} seconds` : " a moment") +
        " and try again.";
    }
    return detail ? `Sorry, we couldn't answer: ${detail}.` :
      `Sorry, the service answered with an error (${response.status}).`;
  }

  // ---------------------------------------------------------------------------------------------
  // rendering (text only)
  // ---------------------------------------------------------------------------------------------

  function renderAnswer(reply, body) {
    // Once red-flag symptoms were reported, every later answer keeps telling to seek care.
    if (body.urgent) reply.append(urgentBanner(body.urgent_message));
    else if (conversation.urgent) reply.append(urgentBanner(conversation.urgentMessage));
    if (body.context_used && !body.urgent) {
      reply.append(el("p", { class: "note", "data-testid": "gqa-follow-up" }, TEXT.followUp));
    }
    if (body.abstained) {
      reply.append(el("p", { class: "abstained", "data-testid": "gqa-abstained" }, TEXT.abstained));
      if (body.message) reply.append(el("p", { class: "note" }, body.message));
    } else if (body.sentences.length) {
      const byId = new Map(body.citations.map((c) => [c.id, c]));
      const answer = el("div", { class: "answer", "data-testid": "gqa-answer" });
      for (const block of answerBlocks(body)) answer.append(renderBlock(block, byId));
      reply.append(answer, sourcesList(body.citations));
    }
    if (body.answer_id && !containerId) reply.append(feedbackBar(body.answer_id));
    renderSafety(reply, body);
  }

  /** The answer's blocks: one per article, in the order the server gives. A server without
   *  `blocks` gets one block per run of sentences from the same article. */
  function answerBlocks(body) {
    if (Array.isArray(body.blocks) && body.blocks.length) return body.blocks;
    const byId = new Map(body.citations.map((c) => [c.id, c]));
    const blocks = [];
    for (const sentence of body.sentences) {
      const cite = byId.get(sentence.citations[0]) || {};
      const last = blocks[blocks.length - 1];
      if (last && last.doc_id === cite.doc_id) last.sentences.push(sentence);
      else blocks.push({ doc_id: cite.doc_id, title: cite.title || "", sentences: [sentence] });
    }
    return blocks;
  }

  /** One article's quotes, never interleaved with another's: its title (and the section the
   *  quotes stand in), then its sentences in the article's reading order. */
  function renderBlock(block, byId) {
    const heading = el("p", { class: "block-title", "data-testid": "gqa-block-title" },
      block.title || "");
    if (block.section) heading.append(el("span", { class: "block-section" }, " · " + block.section));
    const text = el("p", { class: "block-text" });
    block.sentences.forEach((sentence, i) => {
      if (i) text.append(" ");
      const span = el("span", { "data-testid": "gqa-sentence" }, sentence.text);
      for (const id of sentence.citations) {
        if (byId.has(id)) span.append(el("sup", {}, citeButton(byId.get(id), String(id))));
      }
      text.append(span);
    });
    return el("section", { class: "block", "data-testid": "gqa-block",
      "data-doc-id": block.doc_id || "" }, heading, text);
  }

  /** Helpful / not helpful for one answer; a second click on the other button changes it. */
  function feedbackBar(answerId) {
    const status = el("span", { role: "status", "data-testid": "gqa-feedback-status" });
    const bar = el("div", { class: "feedback", role: "group", "aria-label": TEXT.feedbackQuestion,
      "data-testid": "gqa-feedback" }, el("span", {}, TEXT.feedbackQuestion));
    const buttons = [[true, TEXT.helpful, "gqa-helpful"], [false, TEXT.notHelpful, "gqa-not-helpful"]]
      .map(([helpful, label, testId]) => {
        const button = el("button", { type: "button", "aria-pressed": "false",
          "data-testid": testId }, label);
        button.addEventListener("click", () => sendFeedback(answerId, helpful, button));
        return button;
      });
    bar.append(...buttons, status);

    async function sendFeedback(id, helpful, pressed) {
      buttons.forEach((b) => { b.disabled = true; });
      let ok = false;
      try {
        const response = await fetch(endpoint + "/v1/feedback", {
          method: "POST", headers: requestHeaders(true),
          body: JSON.stringify({ answer_id: id, helpful }),
        });
        ok = response.ok;
      } catch (_) { /* offline: said below */ }
      buttons.forEach((b) => {
        b.disabled = false;
        if (ok) b.setAttribute("aria-pressed", String(b === pressed));
      });
      status.textContent = ok ? TEXT.feedbackThanks : TEXT.feedbackFailed;
    }
    return bar;
  }

  function renderError(reply, message, body) {
    reply.append(el("p", { class: "error", role: "alert", "data-testid": "gqa-error" }, message));
    renderSafety(reply, body && Array.isArray(body.red_flags) ? body : lastSafety);
  }

  /** The red-flag box and the disclaimer: on every reply, errors included. */
  function renderSafety(reply, body) {
    const flags = body && Array.isArray(body.red_flags) ? body.red_flags : [];
    if (body && Array.isArray(body.red_flags)) {
      lastSafety = { red_flags: body.red_flags, disclaimer: body.disclaimer };
    }
    const box = el("aside", { class: "redflags", "data-testid": "gqa-redflags",
      "aria-label": "Warning signs" }, el("h3", {}, TEXT.redFlagsTitle));
    const list = el("ul");
    for (const flag of flags) {
      const item = el("li", { "data-testid": "gqa-redflag" }, flag.text);
      if (flag.citation) item.append(" ", el("sup", {}, citeButton(flag.citation, "source")));
      list.append(item);
    }
    if (!flags.length) list.append(el("li", {}, TEXT.safetyFallback));
    box.append(list);
    reply.append(box);
    const disclaimer = (body && body.disclaimer) || TEXT.safetyFallback;
    reply.append(el("p", { class: "disclaimer", "data-testid": "gqa-disclaimer" }, disclaimer));
  }

  function urgentBanner(message) {
    return el("div", { class: "urgent", role: "alert", "data-testid": "gqa-urgent" },
      el("strong", {}, TEXT.urgentTitle), el("p", {}, message || TEXT.urgentFallback));
  }

  function citeButton(citation, label) {
    const button = el("button", {
      type: "button", class: "cite", "data-testid": "gqa-cite",
      "data-doc-id": citation.doc_id,
      "aria-label": `Source ${label}: ${citation.title}` +
        (Number.isInteger(citation.page) ? `, page ${citation.page}` : "") +
        ". Show the quote in the article.",
    }, label);
    button.addEventListener("click", () => openArticle(citation, button));
    return button;
  }

  /** One entry per article, with the numbers of every quote taken from it. */
  function sourcesList(citations) {
    const byDoc = new Map();
    for (const c of citations) {
      if (!byDoc.has(c.doc_id)) byDoc.set(c.doc_id, []);
      byDoc.get(c.doc_id).push(c);
    }
    const list = el("ul");
    for (const group of byDoc.values()) {
      const item = el("li", { "data-testid": "gqa-source" });
      for (const c of group) item.append(citeButton(c, String(c.id)));
      const { title, url } = group[0];
      item.append(" ", isWebUrl(url)
        ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, title)
        : el("span", {}, title));
      list.append(item);
    }
    return el("section", { class: "sources", "data-testid": "gqa-sources",
      "aria-label": "Sources" }, el("h3", {}, "Sources"), list);
  }

  // ---------------------------------------------------------------------------------------------
  // article viewer
  // ---------------------------------------------------------------------------------------------

  /** The article as the citation quoted it: its `doc_version` when the server gave one. */
  function fetchDocument(docId, version) {
    const key = version ? `${docId}@${version}` : docId;
    if (!documents.has(key)) {
      const url = `${endpoint}/v1/documents/${encodeURIComponent(docId)}` +
        (version ? `?version=${encodeURIComponent(version)}` : "");
      const pending = fetch(url, { headers: requestHeaders(false) }).then(async (response) => {
        const body = await response.json().catch(() => null);
        if (!response.ok || !body || typeof body.text !== "string") {
          throw new Error(errorMessage(response, body));
        }
        return body;
      });
      pending.catch(() => documents.delete(key)); // retry next time
      documents.set(key, pending);
    }
    return documents.get(key);
  }

  /** [before, quote, after] of text, by code-point offsets; falls back to finding the quote. */
  function splitAtQuote(text, start, end, quote) {
    const points = Array.from(text);
    const parts = [points.slice(0, start), points.slice(start, end), points.slice(end)]
      .map((p) => p.join(""));
    if (quote && parts[1] !== quote) { // the article changed since the answer: find the words
      const at = text.indexOf(quote);
      if (at >= 0) return [text.slice(0, at), quote, text.slice(at + quote.length)];
    }
    return parts;
  }

  /** The source page a quote starts on: the citation's own, else from the document's page map
   * (red-flag citations and older servers carry none). Null for documents without pages. */
  function citationPage(citation, doc) {
    if (Number.isInteger(citation.page)) return citation.page;
    const pages = Array.isArray(doc.pages) ? doc.pages : [];
    let found = null;
    for (const p of pages) if (p.start <= citation.start) found = p.page;
    return found;
  }

  let viewerOpener = null; // the citation button to return focus to
  let viewerToken = 0; // which openArticle call the viewer shows (a later click wins)

  async function openArticle(citation, opener) {
    const token = ++viewerToken;
    const back = el("button", { type: "button", class: "back", "data-testid": "gqa-back" },
      "← Back to answers");
    back.addEventListener("click", () => closeViewer(opener));
    const heading = el("h3", { tabindex: "-1", "data-testid": "gqa-article-title" },
      citation.title);
    const status = el("p", { class: "status", "data-testid": "gqa-loading" },
      "Opening the article…");
    const head = el("div", { class: "viewer-head" }, back, heading);
    viewer.replaceChildren(head, status);
    viewerOpener = opener;
    log.hidden = true;
    viewer.hidden = false;
    heading.focus();
    let doc;
    try {
      doc = await fetchDocument(citation.doc_id, citation.doc_version);
    } catch (error) {
      if (token === viewerToken) {
        status.replaceWith(el("p", { class: "error", role: "alert", "data-testid": "gqa-error" },
          error.message || TEXT.network));
      }
      return;
    }
    if (token !== viewerToken || viewer.hidden) return; // closed or replaced meanwhile
    const [before, quote, after] = splitAtQuote(doc.text, citation.start, citation.end,
      citation.quote);
    const mark = el("mark", { "data-testid": "gqa-highlight" }, quote);
    const article = el("div", { class: "article", "data-testid": "gqa-article" },
      before, mark, after);
    const link = isWebUrl(doc.url) ? el("p", { class: "note" }, el("a", {
      href: doc.url, target: "_blank", rel: "noopener noreferrer",
    }, "Open the original article")) : null;
    const page = citationPage(citation, doc);
    if (page != null) { // in the sticky head: in sight whatever the scroll
      head.append(el("p", { class: "page-note", "data-testid": "gqa-page" },
        `Highlighted text is on page ${page} of the original document.`));
    }
    const older = doc.live === false ? el("p", { class: "note", "data-testid": "gqa-older-version" },
      TEXT.olderVersion) : null;
    status.replaceWith(...[older, link, article].filter(Boolean));
    scrollWithin(viewer, mark, 0.4);
  }

  function closeViewer(opener) {
    viewerToken++;
    if (viewer.hidden) return;
    viewer.hidden = true;
    viewer.replaceChildren();
    log.hidden = false;
    if (opener && opener.isConnected) opener.focus();
  }

  /** Scroll only the panel's own scroller (scrollIntoView could move the host page too). */
  function scrollWithin(container, target, fraction) {
    // Both offsets are relative to the fixed-position panel, their offsetParent.
    const top = target.offsetTop - container.offsetTop;
    container.scrollTop = Math.max(0, top - container.clientHeight * fraction);
  }

  function mount() {
    (document.getElementById(containerId) || document.body).append(host);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });

  window.GroundedQAWidget = {
    open: openPanel,
    close: closePanel,
    ask: (q) => { openPanel(); return ask(q); },
    /** Forget the conversation: the next question starts a new one. */
    newConversation,
    /** Open a citation's article with its quote highlighted; Esc / Back return to `opener`. */
    openCitation: (citation, opener) => openArticle(citation, opener || null),
    /** Extra request headers (the console's X-Admin-Key); cached articles are fetched anew. */
    setHeaders: (headers) => { extraHeaders = { ...headers }; documents.clear(); },
  };
})();
