// A private CA (openssl) and an HTTPS front end on 127.0.0.1 for tests of clients that must verify it.
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

export interface TlsProxy {
  url: string;
  close: () => Promise<void>;
}

/** HTTPS on 127.0.0.1:`port` in front of http://127.0.0.1:`upstreamPort` (streams both ways, no buffering). */
export async function startTlsProxy(ca: TestCa, port: number, upstreamPort: number): Promise<TlsProxy> {
  const sockets = new Set<net.Socket>();
  const server = https.createServer(
    { key: fs.readFileSync(ca.serverKey), cert: fs.readFileSync(ca.serverCert) },
    (req, res) => {
      const upstream = http.request(
        { host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    },
  );
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}
