// DeepDeploy console: the only script. Live regions refresh from the page itself; the chat box streams tokens.
"use strict";

// Every [data-live] element with an id is replaced by its fresh copy every 3 s while the tab is visible.
(function live() {
  const regions = () => Array.from(document.querySelectorAll("[data-live][id]"));
  if (regions().length === 0) return;
  setInterval(async () => {
    if (document.hidden) return;
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
  }, 3000);
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
