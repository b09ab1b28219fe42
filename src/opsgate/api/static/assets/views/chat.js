// The chat of one conversation: sends requests, draws the event stream (streamed text, tool
// cards, approval cards, verification, the final status with its summary), the stop button
// (which says "stopping…" until the run has ended), the connection indicator (the connection
// only, never an engine event) and the tool palette (the conversation's namespace as default).
// Answers are rendered as sanitised Markdown (markdown.js); each model turn gets a usage chip
// (tokens in and out, cost or "cost unknown", time to first output, duration) and the header
// the conversation's total (from the API, fetched again after each new turn); each run links
// to its timeline.

import { enc, get, post, query } from "../api.js";
import { copyButton, field, formatCost, formatDuration, h, mount, timeNode, toast } from "../dom.js";
import { renderMarkdown } from "../markdown.js";
import { describeSummary, runLook, summaryNodes } from "../outcomes.js";
import { holdsAnywhere } from "../roles.js";
import { openStream } from "../stream.js";
import { createApprovalCard } from "./approval-card.js";
import { conversationList } from "./conversations.js";
import { createPalette } from "./palette.js";
import { createToolCard } from "./tool-card.js";

const CONNECTION_WORDS = { live: "live", reconnecting: "reconnecting…", closed: "disconnected" };

/** The final status line of a run: its words in its colour, who stopped it, then why. */
function finalStatus(el, data) {
  const look = runLook(data.status);
  const who = data.status === "stopped" && data.stopped_by ? ` by ${data.stopped_by}` : "";
  const described = data.summary ? describeSummary(data.summary) : null;
  const redundant = !data.reason || data.reason === described || (who && data.reason === `stopped${who}`);
  el.hidden = false;
  el.dataset.status = data.status;
  el.className = `final-status tone-${look.tone}`;
  mount(
    el,
    h("strong", { class: "final-words", text: `Run ${look.words}${who}` }),
    data.summary ? [": ", h("span", { class: "final-summary" }, summaryNodes(data.summary))] : null,
    h("span", { class: "muted" }, " · ", timeNode(data.at)),
    redundant ? null : h("span", { class: "final-reason" }, h("br"), `Reason: ${data.reason}`),
  );
}

const COUNT = new Intl.NumberFormat("en");

/** A model turn's numbers: tokens in and out, cost (or "cost unknown"), TTFT, duration. */
export function usageChip(turn) {
  return h(
    "p",
    { class: "usage-chip muted", dataset: { model: turn.model }, title: `model ${turn.model}` },
    h("span", { class: "tokens-in", text: `${COUNT.format(turn.input_tokens)} in` }),
    " · ",
    h("span", { class: "tokens-out", text: `${COUNT.format(turn.output_tokens)} out` }),
    " · ",
    h("span", { class: "cost", text: formatCost(turn.cost_usd) }),
    " · ",
    h("span", { class: "ttft", text: turn.ttft_ms === null || turn.ttft_ms === undefined ? "no output" : `first output ${formatDuration(turn.ttft_ms)}` }),
    " · ",
    h("span", { class: "duration", text: formatDuration(turn.duration_ms) }),
  );
}

/** The conversation's total (`usage` of GET /conversations/{id}). */
function usageTotalText(total) {
  if (!total || !total.turns) return "no model turns yet";
  const unpriced = total.unpriced_turns ? ` (${total.unpriced_turns} of ${total.turns} turns cost unknown)` : "";
  const cost = total.cost_usd === null || total.cost_usd === undefined ? "cost unknown" : `${formatCost(total.cost_usd)}${unpriced}`;
  return `${total.turns} model ${total.turns === 1 ? "turn" : "turns"} · ${COUNT.format(total.input_tokens)} in · ${COUNT.format(total.output_tokens)} out · ${cost}`;
}

export async function renderChat(ctx, conversationId) {
  const me = ctx.session.me;
  const canOperate = holdsAnywhere(me, "operator");
  const canApprove = holdsAnywhere(me, "approver");
  const [detail, policy] = await Promise.all([
    get(`/conversations/${enc(conversationId)}`),
    // Whether a requester may approve their own change; the cards say when it is unknown.
    get("/policy").catch(() => null),
  ]);
  const conversation = detail.conversation || detail;

  const timeline = h("div", { class: "timeline", role: "log", "aria-live": "polite", "aria-label": "Conversation events" });
  const streamState = h("span", { class: "stream-state muted", text: "connecting…" });
  const runStatus = h("span", { class: "run-status", "aria-live": "polite" });
  const stopButton = h("button", { type: "button", class: "btn-reject", text: "Stop", hidden: true, disabled: !canOperate });
  const usageTotal = h("span", { class: "usage-total muted", title: "Model usage of this conversation", text: usageTotalText(detail.usage) });
  let usageRefresh = null;
  // After a new turn: its row is committed before its event is published, so this sees it.
  const refreshUsage = () => {
    clearTimeout(usageRefresh);
    usageRefresh = setTimeout(async () => {
      try {
        usageTotal.textContent = usageTotalText((await get(`/conversations/${enc(conversationId)}`)).usage);
      } catch {
        /* the chips still show each turn; the total catches up at the next turn */
      }
    }, 200);
  };

  const runs = new Map();
  const cards = new Map();
  const approvals = new Map();
  let activeRun = null;
  let stopping = null;

  const showStop = () => {
    stopButton.hidden = !activeRun;
    const waiting = activeRun !== null && stopping === activeRun;
    stopButton.disabled = !canOperate || waiting;
    stopButton.textContent = waiting ? "stopping…" : "Stop";
  };

  const setActive = (runId, status) => {
    const look = runLook(status);
    runStatus.textContent = status ? `Run ${look.words}` : "";
    runStatus.dataset.status = status || "";
    runStatus.className = `run-status tone-${look.tone}`;
    const live = status === "running" || status === "awaiting_approval";
    activeRun = live ? runId : activeRun === runId ? null : activeRun;
    showStop();
  };

  const ensureRun = (runId, data = {}) => {
    let run = runs.get(runId);
    if (run) return run;
    const status = h("p", { class: "final-status", hidden: true, role: "status" });
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
      h("p", { class: "run-links muted" }, h("a", { class: "run-timeline-link", href: `#/runs/${enc(runId)}`, text: "Run timeline" }), " · run ", h("code", { class: "run-id", text: runId }), " ", copyButton(runId, "run id")),
    );
    run = { el, body, status, bubble: null, bubbleText: "", cards: [], lastMessage: null };
    runs.set(runId, run);
    timeline.append(el);
    return run;
  };

  const bubble = (run) => {
    if (!run.bubble) {
      run.bubbleText = "";
      run.bubble = h("div", { class: "msg-text md" });
      run.lastMessage = h("div", { class: "msg msg-assistant" }, h("span", { class: "who", text: "opsgate" }), run.bubble);
      run.body.append(run.lastMessage);
    }
    return run.bubble;
  };
  // Markdown is drawn again at most once a frame while text streams in.
  const undrawn = new WeakMap();
  const showText = (el, text) => {
    const waiting = undrawn.has(el);
    undrawn.set(el, text);
    if (waiting) return;
    requestAnimationFrame(() => {
      const latest = undrawn.get(el);
      undrawn.delete(el);
      mount(el, renderMarkdown(latest));
    });
  };

  // An offered rollback is a direct call of its own: a new run, gated like any change.
  const onRollback = (rollback) => post(`/conversations/${enc(conversationId)}/calls`, { tool: rollback.tool, args: rollback.args || {} });

  // A change that ran offers its undo: a direct call restoring its snapshot, gated again.
  const undoActions = {
    load: (callId) => get(`/calls/${enc(callId)}/undo`),
    submit: canOperate ? (callId) => post(`/calls/${enc(callId)}/undo`) : null,
  };

  const cardFor = (runId, call) => {
    let card = cards.get(call.call_id);
    if (!card) {
      card = createToolCard(call, { onRollback: canOperate ? onRollback : null, undo: undoActions });
      cards.set(call.call_id, card);
      const run = ensureRun(runId);
      run.cards.push(card);
      run.body.append(card.el);
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
      if (found.client_name) card.setClient(found.client_name, found.client_version);
      for (const item of found.items || []) {
        card.setProgress(item.call_id, item.progress || []);
        if (item.decision) card.decided(item.decision);
        else if (item.decide_why) card.setWhy(item.call_id, item.may_decide, item.decide_why);
      }
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
        showText(el, run.bubbleText);
        break;
      }
      case "model.turn": {
        // The chip goes under the turn's text; a turn that only called tools gets its own line.
        const chip = usageChip(data);
        if (run.bubble && run.lastMessage) run.lastMessage.append(chip);
        else run.body.append(chip);
        if (!replayed) refreshUsage();
        break;
      }
      case "plan":
        if (data.text && !run.bubbleText) showText(bubble(run), data.text);
        run.bubble = null;
        for (const call of data.calls || []) cardFor(runId, { ...call, status: call.error ? "invalid" : "planned" });
        break;
      case "tool.started": {
        const card = cardFor(runId, data);
        // An approved change runs after its approval card: move it there to keep the order.
        if (card.el.dataset.status === "approved") run.body.append(card.el);
        card.started(data);
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
        const card = createApprovalCard(data, { me, policy, canApprove, handlers });
        approvals.set(data.approval_id, card);
        run.bubble = null;
        run.body.append(card.el);
        for (const call of data.calls) cardFor(runId, { ...call, classification: "mutation" }).setStatus("awaiting_approval");
        fillNames(card, data.approval_id);
        if (!replayed) card.el.scrollIntoView({ block: "nearest" });
        break;
      }
      case "approval.decided": {
        approvals.get(data.approval_id)?.decided(data);
        // An approval a policy's quorum counted leaves the call waiting for more.
        if (data.settled !== false) cards.get(data.call_id)?.setStatus(data.decision === "approve" ? "approved" : "rejected");
        break;
      }
      case "approval.expired": {
        approvals.get(data.approval_id)?.expired(data.call_ids || []);
        for (const callId of data.call_ids || []) cards.get(callId)?.setStatus("expired");
        break;
      }
      case "verify":
        cardFor(runId, data).verify(data);
        break;
      case "answer":
        showText(bubble(run), data.text);
        run.bubble = null;
        break;
      case "run.paused":
        setActive(runId, "awaiting_approval");
        break;
      case "run.resumed":
        setActive(runId, "running");
        break;
      case "run.finished":
        for (const card of run.cards) card.settle();
        finalStatus(run.status, data);
        if (stopping === runId) stopping = null;
        setActive(runId, data.status);
        break;
      case "run.error":
        run.body.append(h("p", { class: "error run-error", role: "alert" }, h("strong", { text: "Error: " }), `${data.message} (${data.code})`));
        break;
      default:
        break;
    }
    if (!replayed && atBottom) window.scrollTo(0, document.documentElement.scrollHeight);
  };

  stopButton.addEventListener("click", async () => {
    if (!activeRun) return;
    const runId = activeRun;
    // "stopping…" until the run's `run.finished` arrives: a check still waiting is cancelled
    // and the run ends, which is what says it has stopped.
    stopping = runId;
    showStop();
    try {
      await post(`/runs/${enc(runId)}/stop`);
    } catch (err) {
      toast(`The run could not be stopped: ${err.message}`);
      if (stopping === runId) stopping = null;
      showStop();
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

  const palette = canOperate ? createPalette(conversationId, conversation.namespace || null) : null;

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
          usageTotal,
          h("span", { class: "conversation-id muted" }, "id ", h("code", { text: conversationId }), " ", copyButton(conversationId, "conversation id")),
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
      streamState.textContent = CONNECTION_WORDS[state] || state;
      streamState.dataset.state = state;
    },
  });
  const ticker = setInterval(() => {
    for (const card of approvals.values()) card.tick();
  }, 1000);
  return () => {
    stream.close();
    clearInterval(ticker);
    clearTimeout(usageRefresh);
  };
}
