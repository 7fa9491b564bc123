/**
 * Loaded with the suite (every file under test/ is): an unhandled rejection or uncaught exception
 * fails the test that is running, and the run goes on to its summary and its `after` hooks.
 *
 * Hardhat's CLI installs handlers that `process.exit(1)` on either, which ended a run without a
 * summary, skipped every cleanup hook and left node processes behind. Mocha's own handler does
 * the right thing (it fails the current runnable), so Hardhat's go; a rejection is rethrown,
 * which turns it into an uncaught exception for mocha to attribute.
 */
process.removeAllListeners("uncaughtException");
process.removeAllListeners("unhandledRejection");
process.on("unhandledRejection", (reason) => {
  throw reason;
});
