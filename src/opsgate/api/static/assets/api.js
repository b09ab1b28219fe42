// The HTTP client of the Command Center: JSON in and out of /api/v1, the CSRF header
// (double-submit, from the `opsgate_csrf` cookie) on state-changing requests, and
// ApiError for the API's `{"error": {code, message, field}}` shape.

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

const listeners = new Set();
/** Called with every ApiError of status 401 (the app sends the user to the login screen). */
export function onUnauthorized(callback) {
  listeners.add(callback);
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = cookie("opsgate_csrf");
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (err) {
    throw new ApiError(0, "network", `The server could not be reached (${err.message}).`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = (data && data.error) || {};
    const error = new ApiError(
      response.status,
      detail.code || `http_${response.status}`,
      detail.message || `Request failed with status ${response.status}.`,
      detail.field || null,
    );
    // /auth/me is how the app asks "who am I?"; a 401 there is an answer, not a lost session.
    if (response.status === 401 && !path.startsWith("/auth/login") && path !== "/auth/me") {
      for (const callback of listeners) callback(error);
    }
    throw error;
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body = {}) => request("POST", path, body);
export const put = (path, body = {}) => request("PUT", path, body);
export const patch = (path, body = {}) => request("PATCH", path, body);
export const del = (path) => request("DELETE", path);

/** Build a query string from the non-empty entries of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const enc = encodeURIComponent;
