// Baseline for the fan-out benchmark: a minimal SSE broadcast server on Node's plain `http`
// module. GET /events subscribes; POST /publish writes one event to every subscriber.
"use strict";
const http = require("http");

const port = Number(process.argv[2] || 8090);
const clients = new Set();
let seq = 0;

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/events") {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
    res.write("retry: 2000\n: connected\n\n");
    clients.add(res);
    req.on("close", () => clients.delete(res));
    return;
  }
  if (req.method === "POST" && req.url === "/publish") {
    seq += 1;
    const frame = `id: ${seq}\nevent: bench\ndata: {"seq":${seq},"at":"${new Date().toISOString()}"}\n\n`;
    for (const client of clients) client.write(frame);
    res.writeHead(204);
    res.end();
    return;
  }
  if (req.url === "/healthz") {
    res.writeHead(200);
    res.end("ok");
    return;
  }
  res.writeHead(404);
  res.end();
});
server.listen(port, "127.0.0.1", 4096);
