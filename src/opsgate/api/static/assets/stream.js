// The live event stream of one conversation (SSE). Remembers the last event id and the
// events already shown in sessionStorage, so a reload re-draws them and resumes with
// `?after=<last id>` instead of replaying everything; on network drops EventSource
// reconnects by itself and sends `Last-Event-ID`. Events are de-duplicated by id. The
// connection state comes from the EventSource alone (its readyState on open and on its own
// error events), never from what the engine sends.

export const EVENT_TYPES = [
  "run.started", "token", "model.turn", "plan", "tool.started", "tool.progress", "tool.finished",
  "approval.requested", "approval.decided", "approval.expired", "verify", "answer",
  "run.paused", "run.resumed", "run.finished", "run.error",
];

const CACHE_LIMIT = 2_000_000;

function keys(conversationId) {
  return { last: `opsgate:last:${conversationId}`, events: `opsgate:events:${conversationId}` };
}

function loadCache(conversationId) {
  const k = keys(conversationId);
  try {
    const last = Number(sessionStorage.getItem(k.last) || "0");
    const events = JSON.parse(sessionStorage.getItem(k.events) || "[]");
    if (!Array.isArray(events) || !last) return { last: 0, events: [] };
    return { last, events };
  } catch {
    return { last: 0, events: [] };
  }
}

/**
 * Open the stream. `onEvent(type, data, id)` is called for cached events first (with
 * `replayed = true` as 4th argument), then for new ones; `onState` gets "live",
 * "reconnecting" or "closed".
 */
export function openStream(conversationId, { onEvent, onState }) {
  const k = keys(conversationId);
  const cache = loadCache(conversationId);
  let last = cache.last;
  let events = cache.events;
  let cacheSize = JSON.stringify(events).length;
  for (const item of events) onEvent(item.type, item.data, item.id, true);

  const url = `/api/v1/conversations/${encodeURIComponent(conversationId)}/events${last ? `?after=${last}` : ""}`;
  const source = new EventSource(url, { withCredentials: true });

  const remember = (id, type, data, raw) => {
    last = id;
    cacheSize += raw.length + 40;
    if (cacheSize > CACHE_LIMIT) {
      // Too much to keep: forget the cache so the next reload replays from the server.
      events = [];
      sessionStorage.removeItem(k.events);
      sessionStorage.removeItem(k.last);
      return;
    }
    events.push({ id, type, data });
    try {
      sessionStorage.setItem(k.events, JSON.stringify(events));
      sessionStorage.setItem(k.last, String(id));
    } catch {
      sessionStorage.removeItem(k.events);
      sessionStorage.removeItem(k.last);
    }
  };

  const handle = (message, named = null) => {
    const id = Number(message.lastEventId || 0);
    if (id && id <= last) return;
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    const type = named || (message.type === "message" ? data.type : message.type);
    if (id) remember(id, type, data, message.data);
    onEvent(type, data, id, false);
  };
  for (const type of EVENT_TYPES) source.addEventListener(type, handle);
  source.addEventListener("message", handle);
  const connection = () => {
    if (source.readyState === EventSource.OPEN) return "live";
    return source.readyState === EventSource.CONNECTING ? "reconnecting" : "closed";
  };
  source.addEventListener("open", () => onState && onState(connection()));
  source.addEventListener("error", (event) => {
    // A server event named `error` (stored by versions before it became `run.error`) arrives
    // here too, as a MessageEvent with data: it is a run's error, not the connection's.
    if (event instanceof MessageEvent && typeof event.data === "string") {
      handle(event, "run.error");
      return;
    }
    if (onState) onState(connection());
  });

  return { close: () => source.close(), lastId: () => last };
}
