// A front end on 127.0.0.1 in front of the server, for tests of what a client sees: HTTPS with a private CA
// (openssl) that the client must verify, or artifact downloads corrupted on the way.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";

export interface TestCa {
  caCert: string;
  serverKey: string;
  serverCert: string;
}

/** A CA and a certificate it signed for 127.0.0.1 (SAN IP), valid one day, written under `dir`. */
export function makeTestCa(dir: string): TestCa {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) =>
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
  openssl(
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=runtime-test-ca"],
    ...["-keyout", file("ca.key"), "-out", file("ca.pem")],
  );
  openssl(
    ...["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"],
    ...["-keyout", file("server.key"), "-out", file("server.csr")],
  );
  fs.writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    ...["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key")],
    ...["-CAcreateserial", "-days", "1", "-extfile", file("san.ext"), "-out", file("server.pem")],
  );
  return { caCert: file("ca.pem"), serverKey: file("server.key"), serverCert: file("server.pem") };
}

export interface FrontEnd {
  url: string;
  close: () => Promise<void>;
}

export interface FrontEndOptions {
  port: number;
  upstreamPort: number;
  /** Serve HTTPS with this CA's server certificate (else plain HTTP). */
  tls?: TestCa;
  /** Flip the first byte of every proxied-artifact download (same length, different bytes). */
  corruptArtifactDownloads?: boolean;
}

/** A proxy to http://127.0.0.1:`upstreamPort` that streams both ways. */
export async function startFrontEnd(o: FrontEndOptions): Promise<FrontEnd> {
  const sockets = new Set<net.Socket>();
  const handler: http.RequestListener = (req, res) => {
    const corrupt =
      o.corruptArtifactDownloads && req.method === "GET" && req.url?.includes("/mlflow-artifacts/artifacts/");
    const upstream = http.request(
      { host: "127.0.0.1", port: o.upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!corrupt) return void up.pipe(res);
        let first = true;
        up.on("data", (chunk: Buffer) => {
          if (first && chunk.length > 0) {
            chunk[0] ^= 0xff;
            first = false;
          }
          res.write(chunk);
        });
        up.on("end", () => res.end());
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  };
  const server = o.tls
    ? https.createServer(
        { key: fs.readFileSync(o.tls.serverKey), cert: fs.readFileSync(o.tls.serverCert) },
        handler,
      )
    : http.createServer(handler);
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, "127.0.0.1", resolve);
  });
  return {
    url: `${o.tls ? "https" : "http"}://127.0.0.1:${o.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}
