#!/usr/bin/env node
// A minimal Panel API client that signs its requests (AcePanel-compatible HMAC-SHA256).
//
// Written from the description in DESIGN.md ("AcePanel-compatible request signing"),
// for Node.js 20 with built-ins only (node:crypto and the global fetch). As a module:
//
//   import { PanelClient } from "./panel_client.mjs";
//   const client = new PanelClient("http://localhost:8000", { tokenId: 16, secret: "..." });
//   const { status, data } = await client.request("GET", "/api/users", { query: { search: "ann", page: 1 } });
//   await client.request("PATCH", "/api/users/7", { json: { email: "ann@example.com" } });
//
// From the command line (the secret may also come from PANEL_TOKEN_SECRET, which keeps it out of `ps`):
//
//   node panel_client.mjs --url http://localhost:8000 --token-id 16 --secret ... GET /api/users page=1 size=20
//   node panel_client.mjs --url ... --token-id 16 --secret ... PATCH /api/users/7 --json '{"email": "a@b.test"}'
//
// It prints the JSON response and exits with status 1 on an HTTP error (the error body
// goes to standard error), 2 on a usage or connection error.

import { createHash, createHmac } from "node:crypto";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ALGORITHM = "HMAC-SHA256";

const sha256Hex = (data) => createHash("sha256").update(data).digest("hex");

// Form-style escaping as Python's quote_plus and Go's url.QueryEscape do it: letters,
// digits and - _ . ~ stay, a space becomes "+", every other byte is %XX (upper case).
// encodeURIComponent also leaves ! ' ( ) * alone, so those are escaped here.
function formEscape(text) {
  return encodeURIComponent(String(text))
    .replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, "+");
}

function formUnescape(text) {
  return decodeURIComponent(text.replace(/\+/g, " "));
}

// The query as [key, value] string pairs, from an object (values may be arrays),
// an array of pairs, a URLSearchParams or a query string.
function toPairs(query) {
  if (query == null) return [];
  if (typeof query === "string") {
    return query
      .replace(/^\?/, "")
      .split("&")
      .filter((part) => part !== "")
      .map((part) => {
        const at = part.indexOf("=");
        return at < 0 ? [formUnescape(part), ""] : [formUnescape(part.slice(0, at)), formUnescape(part.slice(at + 1))];
      });
  }
  const entries = Array.isArray(query) || query instanceof URLSearchParams ? [...query] : Object.entries(query);
  return entries.flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).map((item) => [String(key), String(item)]),
  );
}

// Compare keys by their UTF-8 bytes (as the server's sort does), not by UTF-16 code units.
const byteOrder = (a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

// Keys sorted, each key's values in their original order (Array.prototype.sort is stable), no "?".
export function canonicalQuery(query) {
  return toPairs(query)
    .sort((a, b) => byteOrder(a[0], b[0]))
    .map(([key, value]) => `${formEscape(key)}=${formEscape(value)}`)
    .join("&");
}

// The lowercase hex signature of one request; `path` starts at /api, `query` is already canonical.
export function signature({ secret, timestamp, method, path, query, body }) {
  const canonicalRequest = [method.toUpperCase(), path, query, sha256Hex(body)].join("\n");
  const stringToSign = [ALGORITHM, String(timestamp), sha256Hex(canonicalRequest)].join("\n");
  return createHmac("sha256", secret).update(stringToSign).digest("hex");
}

export class HTTPError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}: ${typeof body === "string" ? body : JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

export class PanelClient {
  constructor(url, { tokenId, secret }) {
    const base = new URL(url);
    // A panel served under a prefix (https://host/panel/) still signs the path from /api on.
    this.base = base.origin + base.pathname.replace(/\/+$/, "");
    this.tokenId = String(tokenId);
    this.secret = secret;
  }

  signedHeaders(method, path, query, body, timestamp = Math.floor(Date.now() / 1000)) {
    const sig = signature({ secret: this.secret, timestamp, method, path, query, body });
    return {
      "X-Timestamp": String(timestamp),
      Authorization: `${ALGORITHM} Credential=${this.tokenId}, Signature=${sig}`,
    };
  }

  // Send one signed request; resolves to { status, data } or throws HTTPError on 4xx/5xx.
  async request(method, path, { query, json } = {}) {
    method = method.toUpperCase();
    const at = path.indexOf("?");
    const inlineQuery = at < 0 ? "" : path.slice(at + 1);
    path = at < 0 ? path : path.slice(0, at);
    if (!path.startsWith("/api")) throw new Error("the path starts with /api, e.g. /api/users");
    const queryString = canonicalQuery([...toPairs(inlineQuery), ...toPairs(query)]);
    const body = json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(json), "utf8");
    const headers = { Accept: "application/json", ...this.signedHeaders(method, path, queryString, body) };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    // We send exactly the canonical query string, so the panel canonicalises it to the same text.
    const url = this.base + encodeURI(path) + (queryString ? `?${queryString}` : "");
    const response = await fetch(url, { method, headers, body: json === undefined ? undefined : body });
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!response.ok) throw new HTTPError(response.status, data);
    return { status: response.status, data };
  }
}

function selfTest() {
  // The published check from DESIGN.md.
  const client = new PanelClient("http://localhost", { tokenId: 16, secret: "docs-demo-token" });
  const headers = client.signedHeaders("GET", "/api/user/info", canonicalQuery("page=1&size=20"), "", 1700000000);
  const expected = "0acf9b3e9bcb3340df2c789e4009fb2f710cc995022c1359af5322616875da16";
  const ok = headers.Authorization === `${ALGORITHM} Credential=16, Signature=${expected}`;
  console.log(ok ? "signing vector: OK" : `signing vector: MISMATCH (${headers.Authorization})`);
  return ok ? 0 : 1;
}

const USAGE =
  "usage: panel_client.mjs [--url URL] [--token-id ID] [--secret SECRET] [--json BODY] [--self-test] " +
  "METHOD PATH [key=value ...]";

function usageError(message) {
  console.error(`${USAGE}\nerror: ${message}`);
  return 2;
}

export async function main(argv) {
  const options = {
    url: process.env.PANEL_URL || "http://localhost:8000",
    tokenId: process.env.PANEL_TOKEN_ID,
    secret: process.env.PANEL_TOKEN_SECRET,
    json: undefined,
  };
  const positional = [];
  const flags = { "--url": "url", "--token-id": "tokenId", "--secret": "secret", "--json": "json" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // --flag value or --flag=value
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    if (flag === "--self-test") return selfTest();
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      return 0;
    }
    if (flag in flags) {
      const value = inline ?? argv[++i];
      if (value === undefined) return usageError(`${flag} needs a value`);
      options[flags[flag]] = value;
    } else {
      positional.push(arg);
    }
  }
  const [method, path, ...params] = positional;
  if (!method || !path || !options.tokenId || !options.secret) {
    return usageError("METHOD, PATH, --token-id and --secret (or PANEL_TOKEN_SECRET) are required");
  }
  const query = [];
  for (const param of params) {
    const at = param.indexOf("=");
    if (at < 0) return usageError(`query parameters are key=value, not '${param}'`);
    query.push([param.slice(0, at), param.slice(at + 1)]);
  }
  let json;
  if (options.json !== undefined) {
    try {
      json = JSON.parse(options.json);
    } catch (error) {
      return usageError(`--json is not valid JSON: ${error.message}`);
    }
  }
  const client = new PanelClient(options.url, { tokenId: options.tokenId, secret: options.secret });
  try {
    const { data } = await client.request(method, path, { query, json });
    if (data !== null) console.log(JSON.stringify(data, null, 2));
    return 0;
  } catch (error) {
    if (error instanceof HTTPError) {
      console.error(`HTTP ${error.status}`);
      console.error(JSON.stringify(error.body, null, 2));
      return 1;
    }
    console.error(`error: ${error.cause?.message ?? error.message}`);
    return 2;
  }
}

// Run the command line only when executed directly, not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2));
}
