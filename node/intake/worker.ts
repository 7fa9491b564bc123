/**
 * Worker-thread side of {@link DecodePool}: decodes chunks of raw transactions with the
 * options the pool was created with and answers with structured-clone-safe results.
 */
import { parentPort, workerData } from "node:worker_threads";

import { decodeTransactions } from "./decode.js";
import { intakeErrorToWire } from "./errors.js";
import type { WorkerReply, WorkerRequest, WorkerSettings } from "./pool.js";

const port = parentPort;
if (!port) throw new Error("node/intake/worker.ts must run in a worker thread");
const settings = workerData as WorkerSettings;

port.on("message", (request: WorkerRequest) => {
  const results = decodeTransactions(request.raws, settings).map((result) =>
    result.ok ? result : { ok: false as const, error: intakeErrorToWire(result.error) },
  );
  port.postMessage({ id: request.id, results } satisfies WorkerReply);
});
port.postMessage({ ready: true });
