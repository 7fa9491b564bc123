import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatViemAssertions from "@nomicfoundation/hardhat-viem-assertions";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";

// Hardhat cannot download compilers offline: use the solc-js build shipped in the `solc` package.
const require = createRequire(import.meta.url);
const solcVersion: string = require("solc/package.json").version;
const solcPath = require.resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatViem, hardhatViemAssertions, hardhatNetworkHelpers, hardhatMocha],
  solidity: {
    compilers: [
      {
        version: solcVersion,
        path: solcPath,
        settings: { optimizer: { enabled: true, runs: 200 }, viaIR: false },
      },
    ],
  },
  paths: {
    tests: { mocha: "test" },
  },
  networks: {
    localhost: { type: "http", url: process.env.L1_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  test: {
    mocha: { timeout: 120_000 },
  },
});
