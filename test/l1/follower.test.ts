/**
 * The L1 follower on a real chain: it acts only on blocks buried `confirmations` deep, reports
 * each new epoch once with its frozen set and schedule, and survives an unreachable RPC.
 */
import { expect } from "chai";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicClient, custom, http, type PublicClient } from "viem";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { domain } from "../../node/commitments/typed-data.js";
import { L1Follower } from "../../node/l1/follower.js";
import { provenPeerId, signPeerIdBinding, signSignerBinding } from "../../node/l1/key-binding.js";
import { peerIdToBytes, registerOperator, type ProvenKeys } from "../../node/l1/operator.js";
import { RegistryReader, type EpochView } from "../../node/l1/registry.js";
import { createLogger } from "../../node/ops/logger.js";
import { deployAndStake, freePort, startLocalChain, type LocalChain, type StakedNetwork } from "../../scripts/lib/devnet.js";

const logger = createLogger({ level: "silent" });

/**
 * Mines to the next epoch's first block one block at a time: the follower reads state a few
 * blocks behind the head, and the in-process chain serves no state for the inner blocks of a
 * multi-block `hardhat_mine`.
 */
async function mineEachToNextEpoch(chain: LocalChain, net: StakedNetwork): Promise<bigint> {
  const registry = net.deployment.registry;
  const next = (await registry.read.currentEpoch()) + 1n;
  const start = await registry.read.epochStartBlock([next]);
  const client = await chain.connection.viem.getPublicClient();
  while ((await client.getBlockNumber()) < start) await chain.connection.networkHelpers.mine(1);
  return next;
}

async function mineEach(chain: LocalChain, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await chain.connection.networkHelpers.mine(1);
}

describe("L1Follower", function () {
  this.timeout(60_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  let client: PublicClient;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "seq-follower-"));
    chain = await startLocalChain();
    net = await deployAndStake(chain, dir, ["2000", "1000"]);
    client = createPublicClient({ transport: http(chain.url) }) as PublicClient;
  });

  after(async () => {
    await chain?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const follower = (url = chain.url, onError?: (e: Error) => void) =>
    new L1Follower({
      client: url === chain.url ? client : (createPublicClient({ transport: http(url, { retryCount: 0 }) }) as PublicClient),
      registry: new RegistryReader(client, net.deployment.registry.address, net.deployment.chainId),
      confirmations: 2,
      pollMs: 50,
      logger,
      ...(onError ? { onError } : {}),
    });

  it("does not act on an epoch until its first block is buried under the confirmation depth", async () => {
    const epoch = await mineEachToNextEpoch(chain, net);
    const f = follower();
    await f.init();
    expect(f.epoch, "the boundary block is the head: not confirmed").to.equal(epoch - 1n);
    expect(f.current().members, "the previous epoch had no set yet").to.have.length(0);

    const seen: EpochView[] = [];
    f.onEpoch((v) => seen.push(v));
    f.start();
    try {
      await mineEach(chain, 2);
      const deadline = Date.now() + 10_000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(seen.map((v) => v.epoch)).to.deep.equal([epoch]);
      expect(seen[0]!.members.map((m) => m.operator.toLowerCase())).to.have.members(net.operators.map((o) => o.operator.toLowerCase()));
      expect(seen[0]!.schedule).to.have.length(2);
      await mineEach(chain, 3);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen, "a new epoch is announced once").to.have.length(1);
      expect(f.recent().map((v) => v.epoch)[0]).to.equal(epoch);
      expect((await f.view(epoch)).members).to.have.length(2);
      await assert.rejects(f.view(epoch + 5n), RangeError);
    } finally {
      f.stop();
    }
  });

  it("fails init clearly when L1 is unreachable, and keeps polling through an outage once running", async () => {
    const port = await freePort();
    await assert.rejects(follower(`http://127.0.0.1:${port}`).init(), /HTTP request failed/);

    // A client whose RPC can be cut: forwards to the chain unless `down`.
    let down = false;
    const flaky = createPublicClient({
      transport: custom({
        request: async ({ method, params }) => {
          if (down) throw new Error("connection refused (test outage)");
          return client.request({ method, params } as never);
        },
      }, { retryCount: 0 }),
    }) as PublicClient;
    const errors: Error[] = [];
    const f = new L1Follower({ client: flaky, registry: new RegistryReader(flaky, net.deployment.registry.address, net.deployment.chainId), confirmations: 2, pollMs: 50, logger, onError: (e) => errors.push(e) });
    await f.init();
    const before = f.epoch;
    f.start();
    try {
      down = true;
      await new Promise((r) => setTimeout(r, 300));
      expect(errors.length, "each failed poll is reported").to.be.greaterThan(0);
      expect(f.lastError).to.match(/test outage/);
      expect(f.epoch, "an outage changes nothing").to.equal(before);
      down = false;
      const next = await mineEachToNextEpoch(chain, net);
      await mineEach(chain, 2);
      const deadline = Date.now() + 10_000;
      while (f.epoch !== next && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(f.epoch).to.equal(next);
      expect(f.lastError).to.equal(null);
    } finally {
      f.stop();
    }
  });

  it("S7: a member whose peer-id proof does not verify is not trusted: its peer id reads as null (offline)", async () => {
    // A deployment of its own: one honest operator, then claims on its libp2p identity.
    const own = await deployAndStake(chain, path.join(dir, "s7"), ["3000"]);
    const registry = own.deployment.registry;
    const d = domain(own.deployment.chainId, registry.address);
    const wallets = await chain.connection.viem.getWalletClients();
    const honest = await registry.read.operatorInfo([own.operators[0]!.operator]);
    const join = async (wallet: (typeof wallets)[number], keys: Pick<ProvenKeys, "peerIdBytes" | "peerIdProof">) => {
      const signer = privateKeyToAccount(generatePrivateKey());
      await registerOperator({
        publicClient: client,
        wallet,
        registry: registry.address,
        token: own.deployment.token.address,
        signer: signer.address,
        signerProof: await signSignerBinding(signer, d, wallet.account.address),
        ...keys,
        addrs: ["/ip4/127.0.0.1/tcp/1"],
        stake: 2_000n * 10n ** 18n,
        mint: true,
      });
      return wallet.account.address;
    };
    // A squatter copies the honest operator's peer id and proof: the proof names the honest operator.
    const squatter = await join(wallets[2]!, { peerIdBytes: honest.peerId, peerIdProof: honest.peerIdProof });
    // An operator whose proof is garbage.
    const garbled = await join(wallets[3]!, { peerIdBytes: honest.peerId, peerIdProof: `0x${"11".repeat(64)}` });
    // One key that signed for two operators (its owner runs both): trusted for neither.
    const shared = await generateKeyPair("Ed25519");
    const twinBytes = peerIdToBytes(peerIdFromPrivateKey(shared).toString());
    const twins = [
      await join(wallets[4]!, { peerIdBytes: twinBytes, peerIdProof: await signPeerIdBinding(shared, d, wallets[4]!.account.address) }),
      await join(wallets[5]!, { peerIdBytes: twinBytes, peerIdProof: await signPeerIdBinding(shared, d, wallets[5]!.account.address) }),
    ];
    const epoch = await mineEachToNextEpoch(chain, own);
    const head = await client.getBlockNumber({ cacheTime: 0 });
    const view = await new RegistryReader(client, registry.address, own.deployment.chainId).epochView(epoch, head);
    const peerOf = (operator: string) => view.members.find((m) => m.operator.toLowerCase() === operator.toLowerCase())!;
    expect(view.members).to.have.length(5);
    expect(peerOf(own.operators[0]!.operator).peerId).to.equal(own.operators[0]!.peerId);
    for (const operator of [squatter, garbled, ...twins]) {
      expect(peerOf(operator).peerId, operator).to.equal(null);
      // Still members: their stake and signer count on L1, they are only unreachable.
      expect(peerOf(operator).peerIdBytes).to.not.equal("0x");
    }
    // Proven under another registry's domain, the honest proof proves nothing either.
    const elsewhere = domain(own.deployment.chainId, net.deployment.registry.address);
    expect(await provenPeerId(honest.peerId, honest.peerIdProof, elsewhere, own.operators[0]!.operator)).to.equal(null);
  });
});
