// DeepDeploy console: the only script. Live regions refresh from the page itself; a deployment's timeline and logs
// follow the API's event streams; the chat box streams tokens.
"use strict";

// Every [data-live] element with an id is replaced by its fresh copy of the page. A page that follows a deployment's
// events ([data-follow]) refreshes them when an event arrives (and every 3 s only while a download is shown); other
// pages every 3 s while the tab is visible.
const live = (function live() {
  const regions = () => Array.from(document.querySelectorAll("[data-live][id]"));
  if (regions().length === 0) return { soon() {} };
  const refresh = async () => {
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { "X-Console-Live": "1" } });
      if (!response.ok || response.redirected) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const region of regions()) {
        if (region.contains(document.activeElement) && document.activeElement !== document.body) continue;
        const next = fresh.getElementById(region.id);
        if (next) region.innerHTML = next.innerHTML;
      }
    } catch { /* the next round tries again */ }
  };
  const follows = document.querySelector("[data-follow]") !== null;
  setInterval(() => {
    if (document.hidden || (follows && !document.querySelector("[data-live] progress"))) return;
    refresh();
  }, 3000);
  // Events come in bursts (a status and its phases): one refresh for a burst.
  let pending = null;
  return { soon() { if (pending === null) pending = setTimeout(() => { pending = null; refresh(); }, 250); } };
})();

// A follow stream is held only while the tab is visible: browsers allow six HTTP/1.1 connections per host, and tabs
// in the background must not take them from the one in front. url() is read at each (re)open.
function follow(url, setup) {
  let source = null;
  const open = () => {
    if (source !== null || document.hidden) return;
    source = new EventSource(url());
    setup(source);
  };
  const close = () => {
    if (source === null) return;
    source.close();
    source = null;
  };
  document.addEventListener("visibilitychange", () => (document.hidden ? close() : open()));
  window.addEventListener("pagehide", close);
  window.addEventListener("pageshow", open);
  open();
}

// A deployment's timeline: each new event on top (the page shows the newest 30), and the state refreshed. A stream
// opened again starts after the last event shown; a reconnecting EventSource resumes by itself (Last-Event-ID).
(function timeline() {
  const list = document.getElementById("timeline");
  if (!list || !window.EventSource) return;
  const keep = 30;
  let last = Math.max(Number(list.dataset.after) || 0, ...Array.from(list.children, li => Number(li.dataset.seq) || 0));
  follow(() => list.dataset.follow + "?after=" + last, (source) => source.addEventListener("deployment_event", (message) => {
    const e = JSON.parse(message.data);
    if (e.sequence <= last) return;
    last = e.sequence;
    const item = document.createElement("li");
    item.dataset.seq = String(e.sequence);
    const time = document.createElement("time");
    time.dateTime = e.time;
    time.textContent = e.time.replace("T", " ").replace(/\.\d+/, "").replace(/(Z|\+00:00)$/, " UTC");
    const kind = document.createElement("strong");
    kind.textContent = e.kind;
    item.append(time, kind, " " + e.message);
    list.prepend(item);
    while (list.children.length > keep) list.lastElementChild.remove();
    live.soon();
  }));
})();

// A deployment's logs: each (re)connection starts with every instance's last lines, then new lines as engines write
// them; a line that came live carries its time. At most 500 lines per instance are kept.
(function logs() {
  const box = document.getElementById("logs");
  if (!box || !window.EventSource) return;
  const keep = 500;
  const pre = (id) => {
    for (const instance of box.querySelectorAll("[data-instance]")) {
      if (instance.dataset.instance === id) return instance.querySelector("pre");
    }
    const instance = document.createElement("div");
    instance.dataset.instance = id;
    const title = document.createElement("p");
    const code = document.createElement("code");
    code.textContent = id;
    title.append(code);
    const log = document.createElement("pre");
    log.className = "logs";
    log.tabIndex = 0;
    log.setAttribute("role", "log");
    log.setAttribute("aria-label", "Log of " + id);
    instance.append(title, log);
    box.append(instance);
    return log;
  };
  follow(() => box.dataset.follow, (source) => {
    source.addEventListener("open", () => { for (const log of box.querySelectorAll("pre")) log.textContent = ""; });
    source.addEventListener("log", (message) => {
      const line = JSON.parse(message.data);
      const log = pre(line.instance_id);
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      const span = document.createElement("span");
      if (line.time) { span.dataset.time = line.time; span.title = line.time; }
      span.textContent = line.line + (line.truncated ? " …" : "") + "\n";
      log.append(span);
      while (log.childNodes.length > keep) log.firstChild.remove();
      if (atEnd) log.scrollTop = log.scrollHeight;
    });
  });
})();

// The chat box: POST /console/chat (same origin, anti-forgery header) and print each streamed delta as it comes.
(function chat() {
  const form = document.getElementById("chat-form");
  if (!form) return;
  const output = document.getElementById("chat-answer");
  const status = document.getElementById("chat-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const prompt = form.querySelector("[name=prompt]").value;
    const token = form.querySelector("[name=__RequestVerificationToken]").value;
    const button = form.querySelector("button");
    output.textContent = "";
    status.textContent = "Waiting for the model…";
    button.disabled = true;
    try {
      const response = await fetch("/console/chat", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "RequestVerificationToken": token },
        body: JSON.stringify({ model: form.dataset.model, stream: true, max_tokens: 64, messages: [{ role: "user", content: prompt }] }),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        status.textContent = "Error " + response.status + ": " + (body && body.error ? body.error.message : response.statusText);
        return;
      }
      status.textContent = "Streaming…";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let chunks = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end).trim();
          buffer = buffer.slice(end + 1);
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") continue;
          try {
            const delta = JSON.parse(data).choices?.[0]?.delta?.content;
            if (delta) { output.textContent += delta; chunks++; output.dataset.chunks = String(chunks); }
          } catch { /* not a JSON chunk */ }
        }
      }
      status.textContent = "Done (" + chunks + " chunks).";
    } catch (e) {
      status.textContent = "The connection failed: " + e;
    } finally {
      button.disabled = false;
    }
  });
})();
