/**
 * Gathering signatures of one statement from a set's members until they hold more than half of
 * its stake: the rule of every quorum-signed statement (batch headers, quorum certificates),
 * checked on L1 the same way (the inbox, `verifyQuorumCommitmentOnL1`).
 */
import type { Address, Hex } from "viem";

/** A member that may sign: who it is on the wire, its signing key, its frozen stake. */
export type StakedSigner<Id> = { readonly nodeId: Id; readonly signer: Address; readonly stake: bigint };

export type StakeMajority<Id> = {
  /** True when the signers in `signatures` hold more than half of `activeStake`. */
  readonly reached: boolean;
  readonly signedStake: bigint;
  readonly activeStake: bigint;
  /** Why each member that did not count failed, by node id. */
  readonly failures: ReadonlyMap<Id, string>;
};

/**
 * Asks every member of `members` at once for its signature (`ask`) and resolves as soon as the
 * valid ones (`recover` gives the signer; it must be the member's) hold more than half of the
 * stake, or when every member answered. `gathered` (signer, lower-case → signature) carries
 * signatures over retries of the same statement: members in it are not asked again.
 */
export async function gatherStakeMajority<Id>(
  members: readonly StakedSigner<Id>[],
  gathered: Map<Address, Hex>,
  ask: (member: StakedSigner<Id>) => Promise<Hex>,
  recover: (signature: Hex) => Promise<Address>,
): Promise<StakeMajority<Id>> {
  const activeStake = members.reduce((sum, m) => sum + m.stake, 0n);
  const stakeOf = new Map(members.map((m) => [m.signer.toLowerCase(), m.stake]));
  const failures = new Map<Id, string>();
  const signedStake = () => [...gathered.keys()].reduce((sum, signer) => sum + (stakeOf.get(signer) ?? 0n), 0n);
  const enough = () => signedStake() * 2n > activeStake;
  const one = async (member: StakedSigner<Id>): Promise<void> => {
    const signer = member.signer.toLowerCase() as Address;
    if (gathered.has(signer)) return;
    try {
      const signature = await ask(member);
      const recovered = (await recover(signature)).toLowerCase();
      if (recovered !== signer) throw new Error(`signature recovers to ${recovered}, the set has ${signer} for this member`);
      gathered.set(signer, signature);
    } catch (error) {
      failures.set(member.nodeId, (error as Error).message);
    }
  };
  if (!enough()) {
    await new Promise<void>((resolve) => {
      let left = members.length;
      if (left === 0) resolve();
      for (const m of members) {
        void one(m).finally(() => {
          left--;
          if (enough() || left === 0) resolve();
        });
      }
    });
  }
  return { reached: enough(), signedStake: signedStake(), activeStake, failures };
}
