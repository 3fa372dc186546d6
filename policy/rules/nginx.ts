// A small reader of nginx configuration, enough to tell what an EC2 server's nginx does on port 80: the
// rendered nginx.conf travels in the instance's (gzipped) cloud-config as a `write_files` literal block.

export interface Directive {
  name: string;
  args: string[];
  /** The directives inside `{ ... }`, for block directives. */
  block?: Directive[];
}

/** Words, quoted strings, and the three punctuation tokens; comments dropped. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i += 1;
    } else if (c === "{" || c === "}" || c === ";") {
      tokens.push(c);
      i += 1;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let word = "";
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\" && j + 1 < text.length) j += 1;
        word += text[j];
        j += 1;
      }
      if (j >= text.length) throw new Error("unterminated quoted string");
      tokens.push(word);
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};#"']/.test(text[j])) j += 1;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

/** Parses nginx configuration text; throws on unbalanced braces or a directive without `;`. */
export function parseNginx(text: string): Directive[] {
  const tokens = tokenize(text);
  let at = 0;
  const parseBlock = (nested: boolean): Directive[] => {
    const directives: Directive[] = [];
    while (at < tokens.length) {
      if (tokens[at] === "}") {
        if (!nested) throw new Error("unexpected }");
        at += 1;
        return directives;
      }
      const name = tokens[at++];
      if (name === "{" || name === ";") throw new Error(`unexpected ${name}`);
      const args: string[] = [];
      while (at < tokens.length && !["{", "}", ";"].includes(tokens[at])) args.push(tokens[at++]);
      if (tokens[at] === ";") {
        at += 1;
        directives.push({ name, args });
      } else if (tokens[at] === "{") {
        at += 1;
        directives.push({ name, args, block: parseBlock(true) });
      } else {
        throw new Error(`directive "${name}" is not terminated by ";"`);
      }
    }
    if (nested) throw new Error("missing }");
    return directives;
  };
  return parseBlock(false);
}

/**
 * The nginx configuration files a cloud-config writes: each `write_files` item whose path ends in `.conf`
 * under an nginx or mlflow directory, with its literal-block content de-indented.
 */
export function nginxConfigsInCloudConfig(cloudConfig: string): { path: string; text: string }[] {
  const lines = cloudConfig.split("\n");
  const found: { path: string; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const path = /^\s*-?\s*path:\s*["']?([^"'\s]+)["']?\s*$/.exec(lines[i])?.[1];
    if (!path || !/nginx[^/]*\.conf$|\/nginx\/.+\.conf$/.test(path)) continue;
    // The item's other keys follow at one indentation; find its `content: |` (or `|-`, `|+`).
    const itemIndent = lines[i].search(/path:/);
    for (let j = i + 1; j < lines.length; j++) {
      const indent = lines[j].search(/\S/);
      if (indent !== -1 && indent < itemIndent) break;
      if (/^\s*-\s/.test(lines[j]) && indent <= itemIndent - 2) break;
      if (!/^\s*content:\s*\|[-+]?\s*$/.test(lines[j])) continue;
      const body: string[] = [];
      let k = j + 1;
      for (; k < lines.length; k++) {
        const lineIndent = lines[k].search(/\S/);
        if (lineIndent !== -1 && lineIndent <= indent) break;
        body.push(lines[k]);
      }
      const margin = Math.min(...body.filter((l) => l.trim() !== "").map((l) => l.search(/\S/)));
      found.push({ path, text: body.map((l) => l.slice(Number.isFinite(margin) ? margin : 0)).join("\n") });
      break;
    }
  }
  return found;
}

/** Every `server` block of a parsed nginx.conf (inside `http`, or at the top of an included file). */
export function serverBlocks(directives: Directive[]): Directive[] {
  return directives.flatMap((d) =>
    d.name === "server" && d.block ? [d] : d.name === "http" && d.block ? serverBlocks(d.block) : [],
  );
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** Whether a server block listens on TCP 80 on an address other than loopback (no `listen` means *:80). */
export function listensPublicly(server: Directive, port: number): boolean {
  const listens = (server.block ?? []).filter((d) => d.name === "listen");
  if (listens.length === 0) return port === 80;
  return listens.some(({ args }) => {
    const address = args[0] ?? "";
    if (address.startsWith("unix:")) return false;
    const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(address);
    const [host, listenPort] = match ? [match[1] ?? "*", Number(match[2])] : [address, 80];
    return listenPort === port && !LOOPBACK.test(host);
  });
}

/** The well-known path the ACME http-01 challenge is served under (RFC 8555, section 8.3). */
export const ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/";
/** Directives that hand a request to something other than nginx's own files and redirects. */
const HANDLERS = ["proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass"];

function isHttpsRedirect(d: Directive): boolean {
  return (
    d.name === "return" &&
    ["301", "302", "307", "308"].includes(d.args[0]) &&
    /^https:\/\//.test(d.args[1] ?? "")
  );
}

function isChallengeLocation(d: Directive): boolean {
  const args = d.args[0] === "^~" ? d.args.slice(1) : d.args;
  return args.length === 1 && args[0] === ACME_CHALLENGE_PATH;
}

/** Whether a directive tree hands requests on, or pulls in configuration this reader cannot see. */
function handlersIn(directives: Directive[]): string[] {
  return directives.flatMap((d) => [
    ...(HANDLERS.includes(d.name) || d.name === "include" ? [d.name] : []),
    ...handlersIn(d.block ?? []),
  ]);
}

/**
 * What a port-80 server block does besides serving the ACME challenge and redirecting to HTTPS (empty when
 * nothing): its only locations may be the challenge's (nginx files, no proxying) and `/` with a
 * `return 301 https://...`; a server-level `return 301 https://...` redirects as well.
 */
export function port80Problems(server: Directive): string[] {
  const problems: string[] = [];
  const body = server.block ?? [];
  let redirects = body.some(isHttpsRedirect);
  for (const d of body) {
    if (d.name === "location") {
      const inner = d.block ?? [];
      if (isChallengeLocation(d)) {
        const uses = [
          ...handlersIn(inner),
          ...(inner.some((x) => x.name === "location") ? ["location"] : []),
        ];
        if (uses.length > 0) problems.push(`its ${ACME_CHALLENGE_PATH} location uses ${uses.join(", ")}`);
      } else if (d.args.join(" ") === "/" && inner.length > 0 && inner.every(isHttpsRedirect)) {
        redirects = true;
      } else {
        problems.push(`it serves location ${d.args.join(" ")}`);
      }
    } else if (HANDLERS.includes(d.name) || d.name === "include" || d.name === "if") {
      problems.push(`it uses ${d.name}`);
    } else if (d.name === "return" && !isHttpsRedirect(d)) {
      problems.push(`it answers "return ${d.args.join(" ")}"`);
    }
  }
  if (!redirects) problems.push("it does not redirect to https://");
  return problems;
}
