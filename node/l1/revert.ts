/**
 * Reading a contract revert out of a viem error, and saying what it means: one place for the inbox
 * writer, the operator tools, the deploy scripts and the watchtower. `describeRevert` holds the
 * table of the registry's, the inbox's, the slashing contract's and the stake token's custom
 * errors, each as one sentence a person can act on.
 */
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, hexToString, isHex, type Abi, type Hex } from "viem";
import { batchInboxAbi, forcedInclusionQueueAbi, sequencerRegistryAbi, slashingAbi, testTokenAbi } from "./generated/abi.js";

/** The contract revert somewhere in `error`'s cause chain, if that is what it is. */
export function contractRevertOf(error: unknown): ContractFunctionRevertedError | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert : undefined;
}

/** A decoded revert: the custom error's name and arguments (`Error(reason)` for a require string). */
export type Revert = { readonly errorName: string; readonly args: readonly unknown[] };

/** Every custom error the project's contracts (and the libraries they use) can revert with. */
const PROJECT_ERRORS: Abi = [...sequencerRegistryAbi, ...batchInboxAbi, ...forcedInclusionQueueAbi, ...slashingAbi, ...testTokenAbi].filter(
  (item, i, all) => item.type === "error" && all.findIndex((other) => other.type === "error" && other.name === item.name) === i,
);

/**
 * The revert in `error`'s cause chain, decoded: from viem's contract error when the call was made
 * with an ABI, else from raw revert data anywhere in the chain (a deployment, a raw RPC error)
 * decoded against the project's contracts' errors. Undefined when `error` is no revert.
 */
export function revertOf(error: unknown): Revert | undefined {
  const revert = contractRevertOf(error);
  if (revert?.data !== undefined) return { errorName: revert.data.errorName, args: revert.data.args ?? [] };
  const data = revertDataOf(error);
  if (data !== undefined) {
    try {
      const decoded = decodeErrorResult({ abi: PROJECT_ERRORS, data });
      return { errorName: decoded.errorName, args: decoded.args ?? [] };
    } catch {
      // not one of ours: fall through to the reason string, if any
    }
  }
  if (revert?.reason !== undefined) return { errorName: "Error", args: [revert.reason] };
  return undefined;
}

/** Revert data (a 4-byte selector and its arguments) carried by an error of the chain, as RPC errors do. */
function revertDataOf(error: unknown): Hex | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 32; e = e.cause, depth++) {
    const data = (e as { data?: unknown }).data;
    const candidate = typeof data === "object" && data !== null ? (data as { data?: unknown }).data : data;
    if (typeof candidate === "string" && isHex(candidate) && candidate.length >= 10) return candidate;
  }
  return undefined;
}

/** How the user changes a parameter a revert names (`unbondingPeriod: "use --unbonding-period"`), keyed by parameter or error name. */
export type RevertHints = Readonly<Record<string, string>>;

const PARAMETER_NAMES: Readonly<Record<string, string>> = {
  unbondingPeriod: "the unbonding period",
  minUnbondingEpochs: "the unbonding floor (minUnbondingEpochs)",
  minStake: "the minimum stake",
  maxActive: "the maximum active set size (maxActive)",
  slashFractionBps: "the slashed fraction (slashFractionBps)",
  reporterShareBps: "the reporter's share (reporterShareBps)",
};

type Sentence = (args: readonly unknown[]) => string;
const s = (v: unknown) => String(v);

/** The meaning of each custom error, by name. Arguments arrive decoded (bigints, addresses, hex). */
const SENTENCES: Readonly<Record<string, Sentence>> = {
  // SequencerRegistry
  ZeroAddress: () => "a zero address was given where an address is required (token, treasury or signer)",
  ZeroAmount: () => "the amount is zero",
  InvalidEpochLength: ([length]) => `the epoch length of ${s(length)} blocks is outside the registry's bounds of 1 to 100000 blocks`,
  GenesisInFuture: ([genesis, current]) => `the genesis block ${s(genesis)} lies in the future (the chain is at block ${s(current)})`,
  ParameterOutOfBounds: ([parameter, value, min, max]) => {
    const name = parameterName(parameter);
    const label = PARAMETER_NAMES[name] ?? name;
    if (name === "unbondingPeriod") {
      return `the unbonding period of ${s(value)} blocks is outside the registry's bounds: it must cover at least the registry's minimum number of epochs (${s(min)} blocks at this epoch length) and at most ${s(max)} blocks`;
    }
    if (name === "minUnbondingEpochs") {
      return `the unbonding floor of ${s(value)} epochs is outside ${s(min)} to ${s(max)} epochs: at least ${s(min)}, and at most the 330000-block maximum unbonding period divided by the epoch length`;
    }
    return `${label} of ${s(value)} is outside the registry's bounds of ${s(min)} to ${s(max)}`;
  },
  AlreadyRegistered: ([operator]) => `${s(operator)} is already registered (an operator registers once; use topUp to add stake)`,
  NotRegistered: ([operator]) => `${s(operator)} is not registered`,
  OperatorIsJailed: ([operator]) => `operator ${s(operator)} is jailed (it was slashed)`,
  OperatorIsExiting: ([operator]) => `operator ${s(operator)} is leaving the set`,
  UnknownOperator: ([operator]) => `${s(operator)} never registered`,
  StakeBelowMinimum: ([stake, min]) => `the stake of ${s(stake)} (smallest token units) is below the registry's minimum of ${s(min)}`,
  StakeTooLarge: ([stake]) => `the stake of ${s(stake)} (smallest token units) does not fit 96 bits`,
  StakeOverflow: ([stake]) => `the stake of ${s(stake)} (smallest token units) does not fit 96 bits`,
  InsufficientStake: ([requested, active]) => `cannot unstake ${s(requested)}: the active stake is only ${s(active)}`,
  SignerIsOperator: () => "the signer key must be another key than the operator's account key",
  SignerTaken: ([signer, boundTo]) => `the signer ${s(signer)} is already bound to operator ${s(boundTo)}: every operator needs a signer key of its own`,
  InvalidSignerProof: ([signer]) => `the signer proof is not ${s(signer)}'s signature binding it to this operator account`,
  BatcherTaken: ([batcher, boundTo]) => `${s(batcher)} is already the batcher or the signer of operator ${s(boundTo)}: every operator needs a batcher account of its own`,
  InvalidBatcherProof: ([batcher]) => `the batcher proof is not ${s(batcher)}'s signature agreeing to post this operator's batches`,
  InvalidPeerId: ([length]) => `the peer id is empty or too long (${s(length)} bytes)`,
  InvalidPeerIdProof: ([length]) => `the peer-id proof is empty or too long (${s(length)} bytes)`,
  InvalidAddrCount: ([count]) => `${s(count)} dial addresses were given: give at least one and at most the registry's maximum`,
  InvalidAddr: ([index]) => `dial address ${s(index)} is empty or too long`,
  NothingToWithdraw: () => "no unbonding stake has matured yet",
  TransferAmountMismatch: ([expected, received]) => `the token delivered ${s(received)} instead of ${s(expected)}: tokens with transfer fees are not supported`,
  NotSlasher: ([caller]) => `${s(caller)} is not the registry's slashing contract`,
  SlasherAlreadySet: ([slasher]) => `the registry's slashing contract is already set (${s(slasher)})`,
  EpochNotDetermined: ([epoch, latest]) => `epoch ${s(epoch)}'s set is not determined yet (only up to epoch ${s(latest)})`,
  AlreadyRanked: ([id]) => `registration ${s(id)} is already ranked`,
  NotRanked: ([id]) => `registration ${s(id)} is not ranked`,
  ZeroWeight: ([index]) => `member ${s(index)} of the leader schedule has no stake`,
  OwnableUnauthorizedAccount: ([account]) => `${s(account)} is not the registry's owner (governance)`,
  OwnableInvalidOwner: ([owner]) => `${s(owner)} cannot be the owner`,
  ReentrancyGuardReentrantCall: () => "the call re-entered the contract",
  SafeERC20FailedOperation: ([token]) => `the token ${s(token)} refused a transfer`,
  InvalidShortString: () => "the EIP-712 domain name is invalid",
  StringTooLong: ([text]) => `the string ${JSON.stringify(s(text))} is too long`,
  // BatchInbox
  ConflictingBatch: ([n]) => `batch ${s(n)} was already accepted with a different header`,
  UnexpectedBatchNumber: ([expected, submitted]) => `batch ${s(submitted)} is not the next batch: the inbox expects batch ${s(expected)}`,
  PrevBatchHashMismatch: () => "the batch does not chain to the last accepted batch (prevBatchHash differs)",
  UnexpectedFirstPosition: ([expected, submitted]) => `the batch starts at position ${s(submitted)}, but the inbox expects ${s(expected)}`,
  InvalidPositionRange: ([first, last]) => `the batch's last position ${s(last)} is before its first ${s(first)}`,
  DataHashMismatch: () => "the batch data does not hash to the header's dataHash",
  MerkleRootMismatch: () => "the transactions in the batch data do not have the header's Merkle root",
  BlobHashMismatch: ([index, expected, actual]) => `blob ${s(index)} of the transaction has versioned hash ${s(actual)}, the batch data references ${s(expected)}`,
  UnreferencedBlob: ([index]) => `the transaction carries blob ${s(index)}, which the batch data does not reference`,
  MalformedBlobReference: ([length]) => `blob-mode batch data of ${s(length)} bytes is not 0x03 followed by one or more 32-byte versioned hashes`,
  NotDirectCall: ([sender]) => `a batch must be its transaction's own top-level call from an account without code; ${s(sender)} relayed it`,
  NotBatcher: ([account, epoch]) => `${s(account)} is not the batcher of any member of epoch ${s(epoch)}'s active set: post with a member's batcher account (seq set-batcher)`,
  EmptyBatchData: () => "the batch data is empty",
  UnsupportedBatchDataVersion: ([version]) => `the batch data's format version ${s(version)} is not one the inbox reads`,
  TruncatedBatchData: ([offset]) => `the batch data ends inside the item starting at byte ${s(offset)}`,
  OverlongVarint: ([offset]) => `the varint at byte ${s(offset)} of the batch data is not in its shortest form`,
  VarintTooLarge: ([offset]) => `the varint at byte ${s(offset)} of the batch data is over 2^53 - 1`,
  NoTransactions: () => "the batch data holds no transaction",
  TransactionCountTooLarge: ([count, remaining]) => `the batch data claims ${s(count)} transactions, more than its ${s(remaining)} remaining bytes can hold`,
  TransactionCountMismatch: ([count, positions]) => `the batch data holds ${s(count)} transactions, but the header's range has ${s(positions)} positions`,
  EmptyTransaction: ([index]) => `transaction ${s(index)} of the batch data is empty`,
  TrailingBatchData: ([offset]) => `the batch data has bytes after its last transaction, from byte ${s(offset)} on`,
  EpochInFuture: ([epoch, current]) => `the batch's epoch ${s(epoch)} has not started (the current epoch is ${s(current)})`,
  EpochTooOld: ([epoch, current, lag]) => `the batch's epoch ${s(epoch)} is more than ${s(lag)} epochs before the current epoch ${s(current)}`,
  UnbondingTooShort: ([floor, required]) =>
    `the registry's unbonding floor of ${s(floor)} epochs is shorter than the ${s(required)} epochs the inbox's epoch lag needs (maxBatchEpochLag + 2)`,
  EpochBeforePreviousBatch: ([epoch, previous]) => `the batch's epoch ${s(epoch)} is older than the previous batch's epoch ${s(previous)}`,
  EmptyActiveSet: ([epoch]) => `epoch ${s(epoch)} has no active set: nobody can sign its batches`,
  InsufficientStakeSigned: ([signed, active]) => `the batch's signers hold ${s(signed)} of ${s(active)} active stake: more than half must sign`,
  MalformedSignature: ([index]) => `signature ${s(index)} is not a valid 65-byte low-s signature`,
  SignerNotInActiveSet: ([index, signer]) => `signature ${s(index)} is by ${s(signer)}, who is not in the epoch's active set`,
  DuplicateSigner: ([index, signer]) => `signature ${s(index)} repeats signer ${s(signer)}`,
  UnknownBatch: ([n]) => `no batch ${s(n)} has been accepted`,
  NoBatchCoversPosition: ([position]) => `no accepted batch covers position ${s(position)}`,
  ForcedTransactionOverdue: ([item, enqueuedAt, deadline]) =>
    `forced item ${s(item)} (enqueued in L1 block ${s(enqueuedAt)}) had to be covered by block ${s(deadline)}: the batch must prove its position (docs/forced-inclusion.md)`,
  InvalidForcedProof: ([item, n, position]) => `the coverage proof does not show forced item ${s(item)}'s transaction at position ${s(position)} of batch ${s(n)}`,
  ForcedItemNotEnqueued: ([item, length]) => `coverage is given for forced item ${s(item)}, but the queue holds only ${s(length)} items`,
  ForcedCoverageGap: ([item, cursor]) => `coverage of forced item ${s(item)} skips items: the cursor is at ${s(cursor)}, items are covered in queue order`,
  EscapeHatchClosed: ([opensAt]) => `the escape hatch opens at L1 block ${s(opensAt)}: a quorum batch was accepted too recently`,
  InvalidEscapeCount: ([count, pending]) => `an escape takes 1 to 64 forced items and at most the ${s(pending)} pending, not ${s(count)}`,
  InvalidEscapeWindow: () => "the escape window must be at least 1 block",
  // ForcedInclusionQueue
  EmptyForcedTransaction: () => "the forced transaction is empty",
  ReservedFirstByte: ([first]) => `the forced transaction starts with byte ${s(first)}, which the stream reserves for its own records (no transaction starts in 0x80-0xbf)`,
  ForcedTransactionTooLarge: ([length, max]) => `the forced transaction has ${s(length)} bytes, more than the queue's ${s(max)}`,
  BlockItemCapReached: ([max]) => `this L1 block already holds the queue's ${s(max)} forced items: retry in a later block`,
  BlockByteCapReached: ([used, length, max]) => `${s(length)} more bytes would take this L1 block's forced items past ${s(max)} bytes (${s(used)} used): retry in a later block`,
  InvalidInclusionDelay: () => "the inclusion delay must be at least 1 block",
  UnknownForcedItem: ([index]) => `the queue has no forced item ${s(index)}`,
  // Slashing
  BadSignature: ([which]) => `signature ${s(which)} of the proof is malformed or recovers no key`,
  SignersDiffer: ([a, b]) => `the two statements are signed by different keys (${s(a)} and ${s(b)}): nothing to punish`,
  UnknownSigner: ([signer]) => `${s(signer)} is bound to no operator`,
  BatchNumbersDiffer: ([a, b]) => `the two batch headers have different batch numbers (${s(a)} and ${s(b)})`,
  EpochsDiffer: ([a, b]) => `the two batch headers are for different epochs (${s(a)} and ${s(b)}): re-signing under a later epoch is allowed`,
  NotEquivocation: () => "the two items are the same header: signing one header twice is no offence",
  PositionOutOfRange: ([which, position, first, last]) => `position ${s(position)} lies outside item ${s(which)}'s range ${s(first)} to ${s(last)}`,
  InvalidProof: ([which]) => `Merkle proof ${s(which)} does not verify`,
  LeavesAgree: ([txHash]) => `both items put the same transaction ${s(txHash)} at the position: nothing to punish`,
  AlreadySlashed: ([offence]) => `offence ${s(offence)} has already been punished`,
  AlreadyCommitted: ([commitment]) => `the proof commitment ${s(commitment)} was already made`,
  NotCommitted: ([commitment]) => `no proof commitment ${s(commitment)} was made: commit before revealing`,
  RevealTooEarly: ([commitment, at]) => `the proof commitment ${s(commitment)} was made in block ${s(at)}: reveal from the next block on`,
  ZeroReporter: () => "the reporter is the zero address",
  NoClaim: ([offence]) => `offence ${s(offence)} has no reward to claim (it was never slashed)`,
  ClaimWindowOpen: ([offence, from]) => `the reward of offence ${s(offence)} is claimable from block ${s(from)}`,
  RewardAlreadyPaid: ([offence]) => `the reward of offence ${s(offence)} has already been paid`,
  // The stake token (OpenZeppelin ERC-20)
  ERC20InsufficientBalance: ([sender, balance, needed]) => `${s(sender)} holds ${s(balance)} of the stake token but ${s(needed)} are needed (smallest units)`,
  ERC20InsufficientAllowance: ([spender, allowance, needed]) => `${s(spender)} may spend ${s(allowance)} of the stake token but ${s(needed)} are needed: approve first`,
  ERC20InvalidApprover: ([a]) => `${s(a)} cannot approve`,
  ERC20InvalidReceiver: ([a]) => `${s(a)} cannot receive tokens`,
  ERC20InvalidSender: ([a]) => `${s(a)} cannot send tokens`,
  ERC20InvalidSpender: ([a]) => `${s(a)} cannot be approved`,
  Error: ([reason]) => `the contract refused: ${s(reason)}`,
};

/** The custom errors `describeRevert` has a sentence for. */
export const DESCRIBED_ERRORS: ReadonlySet<string> = new Set(Object.keys(SENTENCES));

/** A bytes32 parameter name of `ParameterOutOfBounds` as text (`"unbondingPeriod"`). */
function parameterName(parameter: unknown): string {
  if (typeof parameter !== "string" || !isHex(parameter)) return String(parameter);
  return hexToString(parameter, { size: 32 }).replace(/\0+$/, "");
}

/**
 * One sentence saying what `revert` means and naming the error, e.g. `the unbonding period of 80
 * blocks is outside the registry's bounds: ... (ParameterOutOfBounds)`, followed by the matching hint (by the parameter a ParameterOutOfBounds
 * names, else by error name). Errors not in the table read `Name(arg, ...)`.
 */
export function describeRevert(revert: Revert, hints: RevertHints = {}): string {
  const described = SENTENCES[revert.errorName];
  const sentence = described === undefined ? `${revert.errorName}(${revert.args.map(s).join(", ")})` : `${described(revert.args)} (${revert.errorName})`;
  const key = revert.errorName === "ParameterOutOfBounds" ? parameterName(revert.args[0]) : revert.errorName;
  const hint = hints[key] ?? hints[revert.errorName];
  return hint === undefined ? sentence : `${sentence}; ${hint}`;
}

/**
 * One sentence for an L1 call or transaction that failed: the revert's meaning when it reverted,
 * else what the L1 node said (viem's `details`, e.g. "Transaction ran out of gas", rather than its
 * generic "Missing or invalid parameters"), first line only: never calldata or bytecode.
 */
export function describeL1Failure(error: unknown, hints: RevertHints = {}): string {
  const revert = revertOf(error);
  if (revert !== undefined) return describeRevert(revert, hints);
  let said: string | undefined;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 32; e = e.cause, depth++) {
    const viem = e as { details?: unknown; shortMessage?: unknown };
    const text = typeof viem.details === "string" && viem.details !== "" ? viem.details : typeof viem.shortMessage === "string" ? viem.shortMessage : undefined;
    if (text !== undefined) said = text;
  }
  return firstLine(said ?? (error instanceof Error ? error.message : String(error)));
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}
