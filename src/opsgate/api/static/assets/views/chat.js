// The chat of one conversation: sends requests, draws the event stream (streamed text, tool
// cards, approval cards, verification, final status), the stop button and the tool palette.

import { enc, get, post, query } from "../api.js";
import { field, formatTime, h, mount, toast } from "../dom.js";
import { openStream } from "../stream.js";
import { createApprovalCard, createToolCard } from "./cards.js";
import { conversationList } from "./conversations.js";
import { createPalette } from "./palette.js";

const RUN_STATUS_LABEL = {
  running: "running",
  awaiting_approval: "waiting for approval",
  completed: "completed",
  completed_with_failures: "completed with failures",
  rejected: "rejected: nothing ran",
  expired: "expired: nothing ran",
  stopped: "stopped",
  failed: "failed",
};

export async function renderChat(ctx, conversationId) {
  const me = ctx.session.me;
  const canOperate = me.role !== "viewer";
  const canApprove = me.role === "approver" || me.role === "admin";
  const detail = await get(`/conversations/${enc(conversationId)}`);
  const conversation = detail.conversation || detail;

  const timeline = h("div", { class: "timeline", role: "log", "aria-live": "polite", "aria-label": "Conversation events" });
  const streamState = h("span", { class: "stream-state muted", text: "connecting…" });
  const runStatus = h("span", { class: "run-status", "aria-live": "polite" });
  const stopButton = h("button", { type: "button", class: "btn-reject", text: "Stop", hidden: true, disabled: !canOperate });

  const runs = new Map();
  const cards = new Map();
  const approvals = new Map();
  let activeRun = null;

  const setActive = (runId, status) => {
    runStatus.textContent = status ? `Run ${RUN_STATUS_LABEL[status] || status}` : "";
    runStatus.dataset.status = status || "";
    const live = status === "running" || status === "awaiting_approval";
    activeRun = live ? runId : activeRun === runId ? null : activeRun;
    stopButton.hidden = !activeRun;
  };

  const ensureRun = (runId, data = {}) => {
    let run = runs.get(runId);
    if (run) return run;
    const status = h("p", { class: "final-status", hidden: true });
    const body = h("div", { class: "run-body" });
    const el = h(
      "section",
      { class: "run", dataset: { runId }, "aria-label": "Run" },
      data.text !== undefined
        ? h(
            "div",
            { class: "msg msg-user" },
            h("span", { class: "who", text: data.text ? "Request" : "Direct tool call" }),
            data.text ? h("p", { text: data.text }) : null,
          )
        : null,
      body,
      status,
    );
    run = { el, body, status, bubble: null, bubbleText: "" };
    runs.set(runId, run);
    timeline.append(el);
    return run;
  };

  const bubble = (run) => {
    if (!run.bubble) {
      run.bubbleText = "";
      run.bubble = h("p", { class: "msg-text" });
      run.body.append(h("div", { class: "msg msg-assistant" }, h("span", { class: "who", text: "opsgate" }), run.bubble));
    }
    return run.bubble;
  };

  const cardFor = (runId, call) => {
    let card = cards.get(call.call_id);
    if (!card) {
      card = createToolCard(call);
      cards.set(call.call_id, card);
      ensureRun(runId).body.append(card.el);
    }
    return card;
  };

  // Events carry user ids; the approvals endpoint has the names for the card.
  const fillNames = async (card, approvalId) => {
    try {
      const data = await get(`/approvals${query({ conversation_id: conversationId })}`);
      const found = ((data && data.items) || []).find((item) => item.id === approvalId);
      if (!found) return;
      if (found.proposed_by_name) card.setProposer(found.proposed_by_name);
      for (const item of found.items || []) if (item.decision) card.decided(item.decision);
    } catch {
      /* names are a nicety; the ids are already shown */
    }
  };

  const handlers = {
    decide: (approvalId, callId, approve, reason) =>
      post(`/approvals/${enc(approvalId)}/decision`, { call_id: callId, approve, reason }),
    decideAll: (approvalId, approve, reason) => post(`/approvals/${enc(approvalId)}/decide-all`, { approve, reason }),
  };

  const onEvent = (type, data, id, replayed) => {
    // Follow new events only when the reader is already at the bottom of the page.
    const atBottom = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 80;
    const runId = data.run_id;
    const run = ensureRun(runId, type === "run.started" ? { text: data.text || "" } : {});
    switch (type) {
      case "run.started":
        setActive(runId, "running");
        break;
      case "token": {
        const el = bubble(run);
        run.bubbleText += data.text;
        el.textContent = run.bubbleText;
        break;
      }
      case "plan":
        if (data.text && !run.bubbleText) bubble(run).textContent = data.text;
        run.bubble = null;
        for (const call of data.calls || []) {
          const card = cardFor(runId, { ...call, status: call.error ? "invalid" : "planned" });
          if (call.error) card.setStatus("invalid");
        }
        break;
      case "tool.started": {
        const card = cardFor(runId, data);
        // An approved change runs after its approval card: move it there to keep the order.
        if (card.el.dataset.status === "approved") run.body.append(card.el);
        card.started();
        break;
      }
      case "tool.progress":
        cardFor(runId, { call_id: data.call_id, tool: "tool", args: {} }).progress(data.text);
        break;
      case "tool.finished":
        cardFor(runId, data).finished(data);
        break;
      case "approval.requested": {
        setActive(runId, "awaiting_approval");
        const card = createApprovalCard(data, { canApprove, proposer: null, handlers });
        approvals.set(data.approval_id, card);
        run.bubble = null;
        run.body.append(card.el);
        for (const call of data.calls) cardFor(runId, { ...call, classification: "mutation" }).setStatus("awaiting_approval");
        fillNames(card, data.approval_id);
        if (!replayed) card.el.scrollIntoView({ block: "nearest" });
        break;
      }
      case "approval.decided": {
        const card = approvals.get(data.approval_id);
        if (card) {
          card.decided(data);
          fillNames(card, data.approval_id);
        }
        const tool = cards.get(data.call_id);
        if (tool) tool.setStatus(data.decision === "approve" ? "approved" : "rejected");
        setActive(runId, "running");
        break;
      }
      case "approval.expired": {
        const card = approvals.get(data.approval_id);
        if (card) card.expired(data.call_ids || []);
        for (const callId of data.call_ids || []) cards.get(callId)?.setStatus("expired");
        break;
      }
      case "verify":
        cardFor(runId, data).verify(data);
        break;
      case "answer":
        bubble(run).textContent = data.text;
        run.bubble = null;
        break;
      case "run.finished":
        run.status.hidden = false;
        run.status.dataset.status = data.status;
        run.status.textContent = `Run ${RUN_STATUS_LABEL[data.status] || data.status}${data.reason ? `: ${data.reason}` : ""} · ${formatTime(data.at)}`;
        setActive(runId, data.status);
        break;
      case "run.paused":
        setActive(runId, "awaiting_approval");
        break;
      case "run.resumed":
        setActive(runId, "running");
        break;
      case "run.error":
        run.body.append(h("p", { class: "error", role: "alert", text: `${data.message} (${data.code})` }));
        break;
      default:
        break;
    }
    if (!replayed && atBottom) window.scrollTo(0, document.documentElement.scrollHeight);
  };

  stopButton.addEventListener("click", async () => {
    if (!activeRun) return;
    stopButton.disabled = true;
    try {
      await post(`/runs/${enc(activeRun)}/stop`);
    } catch (err) {
      toast(err.message);
    } finally {
      stopButton.disabled = false;
    }
  });

  const input = h("textarea", { name: "text", rows: "2", placeholder: "Ask about the cluster or request a change…", disabled: !canOperate });
  const composer = h(
    "form",
    { class: "composer" },
    field("Message", input),
    h("button", { type: "submit", class: "btn-primary", text: "Send", disabled: !canOperate }),
  );
  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    try {
      await post(`/conversations/${enc(conversationId)}/messages`, { text });
      input.value = "";
    } catch (err) {
      toast(err.message);
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) composer.requestSubmit();
  });

  const palette = canOperate ? createPalette(conversationId) : null;

  mount(
    ctx.main,
    h(
      "div",
      { class: "layout" },
      conversationList(ctx, conversationId),
      h(
        "section",
        { class: "content chat" },
        h(
          "header",
          { class: "chat-head" },
          h("h1", { text: conversation.title || "Conversation" }),
          h("span", { class: "muted" }, "context ", h("code", { text: (conversation.contexts || []).join(", ") || "(default)" }), conversation.namespace ? [" · namespace ", h("code", { text: conversation.namespace })] : null),
          streamState,
          runStatus,
          stopButton,
          h("a", { href: `#/replay/${enc(conversationId)}`, text: "Replay" }),
        ),
        timeline,
        canOperate ? composer : h("p", { class: "muted", text: "You are a viewer: you can follow this conversation but not ask or approve." }),
        palette,
      ),
    ),
  );

  const stream = openStream(conversationId, {
    onEvent,
    onState: (state) => {
      streamState.textContent = state === "live" ? "live" : state === "closed" ? "disconnected" : "reconnecting…";
      streamState.dataset.state = state;
    },
  });
  const ticker = setInterval(() => {
    for (const card of approvals.values()) card.tick();
  }, 1000);
  return () => {
    stream.close();
    clearInterval(ticker);
  };
}
