/**
 * An HTTP proxy in front of the L1 chain's JSON-RPC endpoint, used by the nodes as their
 * `l1RpcUrl`, so the nemesis can take L1 away from them: `reset` closes every connection at once
 * (a crashed provider), `hang` accepts requests and never answers (a stuck one, the worse case:
 * clients wait out their timeouts). The nemesis itself talks to the chain directly.
 */
import { once } from "node:events";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type L1Outage = "reset" | "hang";

export class L1Proxy {
  private mode: "up" | L1Outage = "up";
  private readonly held = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((req, res) => this.handle(req, res));
  /** Requests answered, refused and held over the proxy's life. */
  readonly counts = { forwarded: 0, reset: 0, held: 0 };

  private constructor(private readonly target: URL) {
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  static async start(targetUrl: string): Promise<L1Proxy> {
    const proxy = new L1Proxy(new URL(targetUrl));
    proxy.server.listen(0, "127.0.0.1");
    await once(proxy.server, "listening");
    return proxy;
  }

  get url(): string {
    const { port } = this.server.address() as { port: number };
    return `http://127.0.0.1:${port}`;
  }

  get state(): "up" | L1Outage {
    return this.mode;
  }

  /** Starts an outage: every open connection and every new request fails (reset) or waits forever (hang). */
  cut(kind: L1Outage): void {
    this.mode = kind;
    if (kind === "reset") for (const s of this.sockets) s.destroy();
  }

  /** Ends the outage; requests held by a hang are dropped (their clients see a closed connection). */
  restore(): void {
    this.mode = "up";
    for (const res of this.held) res.socket?.destroy();
    this.held.clear();
  }

  async close(): Promise<void> {
    this.restore();
    for (const s of this.sockets) s.destroy();
    this.server.close();
    await once(this.server, "close");
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.mode === "reset") {
      this.counts.reset++;
      req.socket.destroy();
      return;
    }
    if (this.mode === "hang") {
      this.counts.held++;
      this.held.add(res);
      res.once("close", () => this.held.delete(res));
      return;
    }
    this.counts.forwarded++;
    const upstream = request(
      { hostname: this.target.hostname, port: this.target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.socket?.destroy());
    req.pipe(upstream);
  }
}
