/**
 * Worker-thread side of {@link DecodePool}: decodes chunks of raw transactions (or decrypts a
 * slot's ciphertexts, then decodes them) with the options the pool was created with and answers with structured-clone-safe results.
 */
import { parentPort, workerData } from "node:worker_threads";

import { decodeTransactions } from "./decode.js";
import { decryptTransactions } from "./decrypt.js";
import { intakeErrorToWire } from "./errors.js";
import type { WorkerReply, WorkerRequest, WorkerSettings } from "./pool.js";

const port = parentPort;
if (!port) throw new Error("node/intake/worker.ts must run in a worker thread");
const settings = workerData as WorkerSettings;

port.on("message", (request: WorkerRequest) => {
  const decoded = request.slot === undefined ? decodeTransactions(request.raws, settings) : decryptTransactions(request.slot, request.raws as Uint8Array[], settings);
  const results = decoded.map((result) =>
    result.ok ? result : { ok: false as const, error: intakeErrorToWire(result.error) },
  );
  port.postMessage({ id: request.id, results } satisfies WorkerReply);
});
port.postMessage({ ready: true });
