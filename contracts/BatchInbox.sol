// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ISequencerRegistry} from "./interfaces/ISequencerRegistry.sol";
import {BatchHeader, SequencerTypes} from "./libraries/SequencerTypes.sol";
import {BatchData} from "./libraries/BatchData.sol";
import {StakeQuorum} from "./libraries/StakeQuorum.sol";
import {PositionalMerkle} from "./libraries/PositionalMerkle.sol";
import {IForcedInclusionQueue} from "./interfaces/IForcedInclusionQueue.sol";

/// @title BatchInbox
/// @notice Accepts the sequencer's batches: hash-chained, gap-free in batch number and in
/// position, each signed (EIP-712, registry domain) by distinct members of the active set of
/// the header's epoch holding more than half of its stake, posted by the batcher of one of
/// those members, with data (format v1) whose transactions are the header's Merkle root. L1
/// inclusion of a batch is its finality.
/// @dev The batch payload is only passed as calldata and never stored: an indexer rebuilds the
/// ordered stream from the `BatchAccepted` events plus the `data` argument of the transaction
/// that emitted each one (decode the tx input as `submitBatch(header, data, signatures)`, check
/// `keccak256(data) == dataHash`). So that this always works, a new batch must be the
/// transaction's own top-level call (`NotDirectCall`) from a registered batcher (`NotBatcher`):
/// a copy relayed through a contract, or through an EIP-7702 account's code, is refused, and
/// nobody outside the set can post at all. Re-posting an accepted batch is a cheap no-op, open
/// to anyone, so that a leader taking over mid-posting can always post "the same batch" again.
///
/// Data and root (S6): for format v1 the inbox decodes `data` and recomputes the positional
/// Merkle root of its transactions, so a quorum cannot post data that contradicts its own
/// `merkleRoot`: what the slashing contract proves against and what derivation reads are the
/// same transactions. Format v2 (compressed) is bound by `dataHash` only, and format v3 (the
/// data in the transaction's EIP-4844 blobs: `data` is `0x03` followed by their versioned
/// hashes) by `dataHash` and `blobhash(i)`: for those the root rests on the signers' stake
/// majority, each member signing only cuts its own log derives (docs/contracts.md).
///
/// Epoch lag and slashability: a new batch must be signed for an epoch at most `maxEpochLag`
/// epochs old, so signatures of epoch e can be used until the end of epoch e + maxEpochLag. A
/// member of e's set may request to unstake everything at the start of e (its set is frozen and
/// it still signs for e); its stake must not be withdrawable before its signatures of e stop
/// being usable plus one full epoch to bring evidence. Hence
/// `unbondingPeriod >= (maxEpochLag + 2) * epochLength`: the registry's governance floor
/// `minUnbondingEpochs` (fixed at its deployment, enforced by every unbonding-period change)
/// must be at least `maxEpochLag + 2`, checked at construction.
///
/// Forced inclusion (docs/forced-inclusion.md): the inbox keeps a cursor into the
/// ForcedInclusionQueue; items before it are covered, each proven (positional Merkle proof against
/// the root of an accepted batch, or of the batch being accepted) to be the transaction at one
/// position. Any acceptance that would leave an item more than `inclusionDelay` blocks old
/// uncovered reverts (`ForcedTransactionOverdue`). If no quorum batch is accepted for
/// `escapeWindow` blocks, anyone may `escape`: the pending forced items alone become a batch
/// positioned after the last accepted one, and the set resumes by chaining onto it.
contract BatchInbox {
    /// @notice What is kept of an accepted batch: enough to chain the next one and to let the
    /// slashing contract check a leaf at any covered position.
    struct Batch {
        bytes32 batchHash;
        bytes32 merkleRoot;
        uint64 epoch;
        uint64 firstPosition;
        uint64 lastPosition;
    }

    /// @notice The staking registry: active sets per epoch and the EIP-712 domain.
    ISequencerRegistry public immutable registry;
    /// @notice How many epochs old a new batch's epoch may be (0: only the current epoch).
    uint64 public immutable maxEpochLag;
    /// @notice The forced-inclusion queue whose items the batches must cover.
    IForcedInclusionQueue public immutable forcedQueue;
    /// @notice L1 blocks without an accepted quorum batch after which anyone may `escape`.
    uint64 public immutable escapeWindow;
    /// @notice Most forced items one `escape` call turns into a batch.
    uint256 public constant MAX_ESCAPE_ITEMS = 64;

    /// @notice A positional Merkle proof that forced item `item` is the transaction at `position`
    /// of accepted batch `batchNumber` (or of the batch being submitted, when `batchNumber` is its
    /// number).
    struct ForcedCoverage {
        uint64 item;
        uint64 batchNumber;
        uint64 position;
        bytes32[] proof;
    }

    /// @dev `_batches[k]` is batch number `k + 1`.
    Batch[] private _batches;
    /// @notice Forced items `[0, forcedCursor)` are covered.
    uint64 public forcedCursor;
    /// @notice The L1 block of the last accepted quorum batch (the deployment block before the first).
    uint64 public lastQuorumBatchBlock;
    /// @dev Position + 1 of each covered forced item (0: not covered).
    mapping(uint64 item => uint64 positionPlusOne) private _forcedPosition;

    /// @notice A batch was accepted. `data` is in the calldata of the emitting transaction.
    event BatchAccepted(
        uint64 indexed batchNumber,
        uint64 indexed epoch,
        bytes32 indexed batchHash,
        uint64 firstPosition,
        uint64 lastPosition,
        bytes32 merkleRoot,
        bytes32 dataHash
    );

    /// @notice Forced item `item` is covered: its transaction is at `position`, in batch `batchNumber`.
    event ForcedItemCovered(uint64 indexed item, uint64 indexed batchNumber, uint64 position);

    /// @notice Batch `batchNumber` was made by `escape` of forced items `[firstItem, firstItem + itemCount)`,
    /// at consecutive positions; its `BatchAccepted` event precedes this one.
    event EscapeBatchAccepted(uint64 indexed batchNumber, uint64 firstItem, uint64 itemCount, address indexed caller);

    /// @notice The exact same header was posted again: nothing changed.
    event BatchAlreadyAccepted(uint64 indexed batchNumber, bytes32 indexed batchHash, address indexed submitter);

    /// @notice A different header was posted for an already accepted batch number.
    error ConflictingBatch(uint64 batchNumber, bytes32 acceptedHash, bytes32 submittedHash);
    /// @notice `batchNumber` is not the next one (batch numbers start at 1 and have no gaps).
    error UnexpectedBatchNumber(uint64 expected, uint64 submitted);
    /// @notice `prevBatchHash` is not the hash of the last accepted header (0 for the first).
    error PrevBatchHashMismatch(bytes32 expected, bytes32 submitted);
    /// @notice `firstPosition` does not continue the last accepted batch (0 for the first).
    error UnexpectedFirstPosition(uint64 expected, uint64 submitted);
    /// @notice `lastPosition < firstPosition`.
    error InvalidPositionRange(uint64 firstPosition, uint64 lastPosition);
    /// @notice `keccak256(data)` differs from `header.dataHash`.
    error DataHashMismatch(bytes32 headerDataHash, bytes32 actualDataHash);
    /// @notice The positional Merkle root of the transactions in `data` differs from `header.merkleRoot`.
    error MerkleRootMismatch(bytes32 headerRoot, bytes32 dataRoot);
    /// @notice Blob `index` of the transaction has versioned hash `actual`, the batch data references `expected`.
    error BlobHashMismatch(uint256 index, bytes32 expected, bytes32 actual);
    /// @notice The transaction carries blob `index`, which the batch data does not reference.
    error UnreferencedBlob(uint256 index);
    /// @notice Blob-mode batch data of `length` bytes is not `0x03` followed by one or more 32-byte versioned hashes.
    error MalformedBlobReference(uint256 length);
    /// @notice A new batch must be the transaction's own top-level call, from an account without
    /// code, so that its data is the transaction's input (a relayed copy could not be read back).
    error NotDirectCall(address sender);
    /// @notice `account` is not the batcher of any member of `epoch`'s active set.
    error NotBatcher(address account, uint64 epoch);
    /// @notice The header's epoch has not started yet.
    error EpochInFuture(uint64 epoch, uint64 currentEpoch);
    /// @notice The header's epoch is more than `maxEpochLag` epochs before the current one.
    error EpochTooOld(uint64 epoch, uint64 currentEpoch, uint64 maxEpochLag);
    /// @notice The registry's unbonding floor (in epochs) is lower than the epoch lag needs:
    /// governance could let stake leave while signatures of its last epoch are still usable.
    error UnbondingTooShort(uint256 minUnbondingEpochs, uint256 requiredEpochs);
    /// @notice The header's epoch is older than the previous batch's.
    error EpochBeforePreviousBatch(uint64 epoch, uint64 previousEpoch);
    /// @notice The epoch has no active set: nobody can sign for it.
    error EmptyActiveSet(uint64 epoch);
    /// @notice No batch with this number has been accepted.
    error UnknownBatch(uint64 batchNumber);
    /// @notice No accepted batch covers this position.
    error NoBatchCoversPosition(uint64 position);
    /// @notice Forced item `item`, enqueued at `enqueuedAt`, had to be covered by block `deadline`.
    error ForcedTransactionOverdue(uint64 item, uint64 enqueuedAt, uint64 deadline);
    /// @notice The proof does not show forced item `item`'s transaction at `position` of batch `batchNumber`.
    error InvalidForcedProof(uint64 item, uint64 batchNumber, uint64 position);
    /// @notice Coverage is given for item `item` but the queue holds only `length` items.
    error ForcedItemNotEnqueued(uint64 item, uint64 length);
    /// @notice Coverage of item `item` while the cursor is at `cursor`: items are covered in queue order.
    error ForcedCoverageGap(uint64 item, uint64 cursor);
    /// @notice `escape` before block `opensAt` (a quorum batch was accepted too recently, or the
    /// oldest pending item is not overdue yet).
    error EscapeHatchClosed(uint64 opensAt);
    /// @notice `escape` of `count` items: it must be 1 to `MAX_ESCAPE_ITEMS` and at most the `pending` ones.
    error InvalidEscapeCount(uint64 count, uint64 pending);
    /// @notice The escape window must be at least 1 block.
    error InvalidEscapeWindow();

    /// @param registry_ The staking registry whose active sets sign batches.
    /// @param maxEpochLag_ How many epochs old a new batch's epoch may be; the registry's
    /// `minUnbondingEpochs` must be at least `maxEpochLag_ + 2`.
    /// @param forcedQueue_ The forced-inclusion queue.
    /// @param escapeWindow_ Blocks without an accepted quorum batch that open the escape hatch.
    constructor(ISequencerRegistry registry_, uint64 maxEpochLag_, IForcedInclusionQueue forcedQueue_, uint64 escapeWindow_) {
        uint256 required = uint256(maxEpochLag_) + 2;
        uint256 floor = registry_.minUnbondingEpochs();
        if (floor < required) revert UnbondingTooShort(floor, required);
        if (escapeWindow_ == 0) revert InvalidEscapeWindow();
        registry = registry_;
        maxEpochLag = maxEpochLag_;
        forcedQueue = forcedQueue_;
        escapeWindow = escapeWindow_;
        lastQuorumBatchBlock = uint64(block.number);
    }

    /// @notice Posts a batch: `header` signed by members of `header.epoch`'s active set holding
    /// more than half of its stake, with its payload `data`, sent directly by the batcher of a
    /// member of that set (`registry.batcherOf`: its signer unless it set another account).
    /// @dev Idempotent: posting an already accepted header again returns false and emits
    /// `BatchAlreadyAccepted` without any other check (anyone may, it accepts nothing new); a
    /// different header for an accepted number reverts with `ConflictingBatch`. A new batch's
    /// epoch must lie in [currentEpoch - maxEpochLag, currentEpoch] and not before the previous
    /// batch's; the re-post path is not age-checked. The batcher must belong to the header's
    /// epoch (the set the inbox reads for the signatures anyway, one registry call): a leader
    /// outside it re-cuts the batch under the current epoch, as for `EpochTooOld`. The registry
    /// is trusted (set at deployment), so calling it before the effects is safe.
    /// @param header The batch header.
    /// @param data The batch data: must hash to `header.dataHash`. Format v1 must hold exactly
    /// the header's positions, whose positional Merkle root must be `header.merkleRoot`; format
    /// v2 (compressed) is bound by the hash alone; format v3 references this transaction's blobs
    /// (`0x03` ‖ their versioned hashes, in order, every blob referenced).
    /// @param signatures 65-byte EIP-712 signatures of `header` by distinct active-set signers.
    /// @return accepted True if the batch was newly accepted, false if it already was.
    function submitBatch(BatchHeader calldata header, bytes calldata data, bytes[] calldata signatures)
        external
        returns (bool accepted)
    {
        return _submitBatch(header, data, signatures, new ForcedCoverage[](0));
    }

    /// @notice `submitBatch` that also covers forced items, in queue order from the cursor (each
    /// proven against this batch's root, or an earlier accepted batch's); entries for items
    /// already covered are skipped, so a batch sent while its predecessor (covering some of the
    /// same items) is still pending stays valid. Required when the item at the cursor is older
    /// than `inclusionDelay` blocks.
    /// @param header The batch header.
    /// @param data The batch payload, as for the three-argument `submitBatch`.
    /// @param signatures 65-byte EIP-712 signatures of `header` by distinct active-set signers.
    /// @param coverage Proofs for items from the cursor on, in queue order.
    /// @return accepted True if the batch was newly accepted, false if it already was.
    function submitBatch(
        BatchHeader calldata header,
        bytes calldata data,
        bytes[] calldata signatures,
        ForcedCoverage[] memory coverage
    ) external returns (bool accepted) {
        return _submitBatch(header, data, signatures, coverage);
    }

    /// @notice Covers forced items with proofs against accepted batches only; anyone may (e.g. for
    /// an item that a batch ordered without covering it). Reverts like a batch would if the
    /// item at the new cursor is overdue: cover it too, or let a batch do it.
    /// @param coverage Proofs for the items from the cursor on, in queue order.
    function cover(ForcedCoverage[] memory coverage) external {
        Batch memory none;
        _cover(coverage, none, 0);
    }

    /// @notice The escape hatch: once no quorum batch has been accepted for `escapeWindow` blocks
    /// and the oldest pending forced item is overdue (older than `inclusionDelay` blocks), anyone
    /// turns the next `itemCount` pending forced items into a batch, in queue order, at
    /// the positions right after the last accepted batch. Its header has the previous batch's
    /// epoch (0 for a first batch), the positional root of the items' transaction hashes, and as
    /// `dataHash` the chain hash of its last item; it needs no signature. It does not reset the
    /// window: while the set stays silent, anyone may escape again. The set resumes by chaining
    /// its next batch onto this one.
    /// @param itemCount How many pending items to include (1 to `MAX_ESCAPE_ITEMS`).
    /// @return batchNumber The number of the batch made.
    function escape(uint64 itemCount) external returns (uint64 batchNumber) {
        uint64 firstItem = forcedCursor;
        uint64 pending = forcedQueue.length() - firstItem;
        if (itemCount == 0 || itemCount > MAX_ESCAPE_ITEMS || itemCount > pending) revert InvalidEscapeCount(itemCount, pending);
        // Open only while the set has been silent for the window and the oldest pending item is
        // overdue: an idle set that covers forced items in time can never be pre-empted.
        uint64 opensAt = lastQuorumBatchBlock + escapeWindow + 1;
        (,, uint64 enqueuedAt) = forcedQueue.item(firstItem);
        uint64 overdueAt = enqueuedAt + forcedQueue.inclusionDelay() + 1;
        if (overdueAt > opensAt) opensAt = overdueAt;
        if (block.number < opensAt) revert EscapeHatchClosed(opensAt);

        uint256 count = _batches.length;
        BatchHeader memory header;
        header.batchNumber = uint64(count + 1);
        if (count != 0) {
            Batch storage prev = _batches[count - 1];
            header.prevBatchHash = prev.batchHash;
            header.firstPosition = prev.lastPosition + 1;
            header.epoch = prev.epoch;
        }
        header.lastPosition = header.firstPosition + itemCount - 1;
        bytes32[] memory leaves = new bytes32[](itemCount);
        for (uint64 k = 0; k < itemCount; ++k) {
            (bytes32 txHash, bytes32 chainHash,) = forcedQueue.item(firstItem + k);
            leaves[k] = PositionalMerkle.leaf(header.firstPosition + k, txHash);
            header.dataHash = chainHash;
            _markCovered(firstItem + k, header.batchNumber, header.firstPosition + k);
        }
        header.merkleRoot = PositionalMerkle.rootOf(leaves);
        forcedCursor = firstItem + itemCount;
        _record(header.batchNumber, SequencerTypes.hash(header), header);
        emit EscapeBatchAccepted(header.batchNumber, firstItem, itemCount, msg.sender);
        return header.batchNumber;
    }

    /// @notice Whether forced item `item` is covered, and at which position.
    function forcedPosition(uint64 item) external view returns (bool covered, uint64 position) {
        uint64 p = _forcedPosition[item];
        return p == 0 ? (false, 0) : (true, p - 1);
    }

    /// @dev `submitBatch` with `coverage` (memory: the three-argument form passes an empty list).
    function _submitBatch(
        BatchHeader calldata header,
        bytes calldata data,
        bytes[] calldata signatures,
        ForcedCoverage[] memory coverage
    ) private returns (bool accepted) {
        uint256 count = _batches.length;
        uint64 number = header.batchNumber;
        bytes32 headerHash = SequencerTypes.hash(header);

        if (number != 0 && number <= count) {
            bytes32 acceptedHash = _batches[number - 1].batchHash;
            if (acceptedHash != headerHash) revert ConflictingBatch(number, acceptedHash, headerHash);
            emit BatchAlreadyAccepted(number, headerHash, msg.sender);
            return false;
        }
        if (number != count + 1) revert UnexpectedBatchNumber(uint64(count + 1), number);
        // An account without code can make no call but the transaction's own: this call is the
        // top level, so `data` is in the transaction's input (tx.origin alone would let an
        // EIP-7702 account's code relay a copy).
        // solhint-disable-next-line avoid-tx-origin
        if (msg.sender != tx.origin || msg.sender.code.length != 0) revert NotDirectCall(msg.sender);

        uint64 previousEpoch = _checkContinuation(header, count);
        _checkData(header, data);

        _checkSigned(header, headerHash, previousEpoch, signatures);

        _cover(coverage, _asBatch(headerHash, header), number);
        lastQuorumBatchBlock = uint64(block.number);
        _record(number, headerHash, header);
        return true;
    }

    /// @dev Covers items from the cursor with `coverage`, then reverts if the item at the cursor
    /// is overdue. A proof may name the batch being accepted (`next`, number `nextNumber`, not
    /// stored yet) or an accepted one; `nextNumber == 0` when there is none (`cover`).
    function _cover(ForcedCoverage[] memory coverage, Batch memory next, uint64 nextNumber) private {
        uint64 cursor = forcedCursor;
        uint64 queued = forcedQueue.length();
        for (uint256 k = 0; k < coverage.length; ++k) {
            ForcedCoverage memory c = coverage[k];
            if (c.item < cursor) continue;
            if (c.item > cursor) revert ForcedCoverageGap(c.item, cursor);
            if (cursor >= queued) revert ForcedItemNotEnqueued(cursor, queued);
            Batch memory target;
            if (nextNumber != 0 && c.batchNumber == nextNumber) target = next;
            else if (c.batchNumber != 0 && c.batchNumber <= _batches.length) target = _batches[c.batchNumber - 1];
            else revert UnknownBatch(c.batchNumber);
            (bytes32 txHash,,) = forcedQueue.item(cursor);
            if (
                c.position < target.firstPosition || c.position > target.lastPosition
                    || !PositionalMerkle.verify(
                        PositionalMerkle.leaf(c.position, txHash),
                        c.position - target.firstPosition,
                        uint256(target.lastPosition) - target.firstPosition + 1,
                        c.proof,
                        target.merkleRoot
                    )
            ) revert InvalidForcedProof(cursor, c.batchNumber, c.position);
            _markCovered(cursor, c.batchNumber, c.position);
            ++cursor;
        }
        forcedCursor = cursor;
        if (cursor < queued) {
            (,, uint64 enqueuedAt) = forcedQueue.item(cursor);
            uint64 deadline = enqueuedAt + forcedQueue.inclusionDelay();
            if (block.number > deadline) revert ForcedTransactionOverdue(cursor, enqueuedAt, deadline);
        }
    }

    /// @dev Records that forced item `item` is the transaction at `position` of batch `batchNumber`.
    function _markCovered(uint64 item, uint64 batchNumber, uint64 position) private {
        _forcedPosition[item] = position + 1;
        emit ForcedItemCovered(item, batchNumber, position);
    }

    /// @dev What is kept of `header`.
    function _asBatch(bytes32 headerHash, BatchHeader memory header) private pure returns (Batch memory) {
        return Batch({
            batchHash: headerHash,
            merkleRoot: header.merkleRoot,
            epoch: header.epoch,
            firstPosition: header.firstPosition,
            lastPosition: header.lastPosition
        });
    }

    /// @dev Stores the accepted batch and announces it.
    function _record(uint64 number, bytes32 headerHash, BatchHeader memory header) private {
        _batches.push(_asBatch(headerHash, header));
        emit BatchAccepted(
            number,
            header.epoch,
            headerHash,
            header.firstPosition,
            header.lastPosition,
            header.merkleRoot,
            header.dataHash
        );
    }

    /// @dev Reverts unless `header` extends the last of the `count` accepted batches (hash chain
    /// and positions); returns that batch's epoch (0 for the first batch).
    function _checkContinuation(BatchHeader calldata header, uint256 count)
        private
        view
        returns (uint64 previousEpoch)
    {
        bytes32 prevHash;
        uint64 expectedFirst;
        if (count != 0) {
            Batch storage prev = _batches[count - 1];
            prevHash = prev.batchHash;
            expectedFirst = prev.lastPosition + 1;
            previousEpoch = prev.epoch;
        }
        if (header.prevBatchHash != prevHash) revert PrevBatchHashMismatch(prevHash, header.prevBatchHash);
        if (header.firstPosition != expectedFirst) revert UnexpectedFirstPosition(expectedFirst, header.firstPosition);
        if (header.lastPosition < header.firstPosition) {
            revert InvalidPositionRange(header.firstPosition, header.lastPosition);
        }
    }

    /// @dev Reverts unless `data` hashes to `header.dataHash` and, by its version byte, is
    /// well-formed v1 data holding the header's positions with `header.merkleRoot` as their
    /// positional root (one memory copy serves the hash of the whole, then each transaction
    /// hashed in place: BatchData), compressed v2 data (the contract cannot afford to decompress
    /// it), or a v3 reference to exactly the transaction's blobs.
    function _checkData(BatchHeader calldata header, bytes calldata data) private view {
        bytes memory copy = data;
        bytes32 actualDataHash = keccak256(copy);
        if (actualDataHash != header.dataHash) revert DataHashMismatch(header.dataHash, actualDataHash);
        uint8 version = data.length == 0 ? 0 : uint8(data[0]);
        if (version == BatchData.VERSION_COMPRESSED) return;
        if (version == BatchData.VERSION_BLOBS) return _checkBlobs(data);
        uint256 positions = uint256(header.lastPosition) - header.firstPosition + 1;
        bytes32 root = BatchData.positionalRoot(copy, header.firstPosition, positions);
        if (root != header.merkleRoot) revert MerkleRootMismatch(header.merkleRoot, root);
    }

    /// @dev Reverts unless `header`'s epoch may sign a new batch now, after one of `previousEpoch`,
    /// and `signatures` are its quorum's, posted by one of its batchers.
    function _checkSigned(BatchHeader calldata header, bytes32 headerHash, uint64 previousEpoch, bytes[] calldata signatures)
        private
    {
        uint64 current = registry.checkpoint();
        if (header.epoch > current) revert EpochInFuture(header.epoch, current);
        if (uint256(header.epoch) + maxEpochLag < current) revert EpochTooOld(header.epoch, current, maxEpochLag);
        if (header.epoch < previousEpoch) revert EpochBeforePreviousBatch(header.epoch, previousEpoch);

        (address[] memory signers, uint256[] memory stakes) = registry.activeSignerStakes(header.epoch);
        if (signers.length == 0) revert EmptyActiveSet(header.epoch);
        _checkBatcher(header.epoch, signers);
        _checkQuorum(headerHash, signers, stakes, signatures);
    }

    /// @dev Reverts unless `data` (`0x03` ‖ k versioned hashes) names the transaction's blobs:
    /// `blobhash(i)` is hash i for every i < k, and there is no blob k.
    function _checkBlobs(bytes calldata data) private view {
        uint256 length = data.length;
        if (length < 33 || (length - 1) % 32 != 0) revert MalformedBlobReference(length);
        uint256 count = (length - 1) / 32;
        for (uint256 i = 0; i < count; ++i) {
            bytes32 expected = bytes32(data[1 + 32 * i:33 + 32 * i]);
            bytes32 actual = blobhash(i);
            if (actual != expected) revert BlobHashMismatch(i, expected, actual);
        }
        if (blobhash(count) != bytes32(0)) revert UnreferencedBlob(count);
    }

    /// @dev Reverts unless the caller is the batcher of a member of `epoch`'s set (`signers`):
    /// the registry names the signer of the operator it posts for, found in the list read for
    /// the quorum.
    function _checkBatcher(uint64 epoch, address[] memory signers) private view {
        address signer = registry.signerOfBatcher(msg.sender);
        if (signer != address(0)) {
            for (uint256 j = 0; j < signers.length; ++j) {
                if (signers[j] == signer) return;
            }
        }
        revert NotBatcher(msg.sender, epoch);
    }

    /// @dev Reverts unless `signatures` are signatures of `headerHash` by distinct members of the
    /// epoch's active set (`signers`, `stakes`) holding more than half of its frozen stake (a
    /// quorum by stake, as in the nodes' Raft: members at the minimum stake cannot outvote the
    /// stake): `StakeQuorum.check` over the EIP-712 digest under the registry's domain.
    function _checkQuorum(bytes32 headerHash, address[] memory signers, uint256[] memory stakes, bytes[] calldata signatures)
        private
        view
    {
        StakeQuorum.check(MessageHashUtils.toTypedDataHash(registry.domainSeparator(), headerHash), signers, stakes, signatures);
    }

    /// @notice Number of accepted batches (= number of the last one; 0 if none).
    function batchCount() external view returns (uint64) {
        return uint64(_batches.length);
    }

    /// @notice The last accepted batch and its number; number 0 and an empty batch if none.
    function lastBatch() external view returns (uint64 batchNumber, Batch memory last) {
        uint256 count = _batches.length;
        if (count == 0) return (0, last);
        return (uint64(count), _batches[count - 1]);
    }

    /// @notice Accepted batch number `batchNumber`.
    function batch(uint64 batchNumber) external view returns (Batch memory) {
        if (batchNumber == 0 || batchNumber > _batches.length) revert UnknownBatch(batchNumber);
        return _batches[batchNumber - 1];
    }

    /// @notice The accepted batch whose range contains `position` (binary search: batches are
    /// contiguous and ordered by position).
    function batchCoveringPosition(uint64 position) external view returns (uint64 batchNumber, Batch memory) {
        uint256 count = _batches.length;
        if (count == 0 || position > _batches[count - 1].lastPosition) revert NoBatchCoversPosition(position);
        // Largest k with _batches[k].firstPosition <= position; _batches[0].firstPosition == 0.
        uint256 lo = 0;
        uint256 hi = count - 1;
        while (lo < hi) {
            uint256 mid = (lo + hi + 1) >> 1;
            if (_batches[mid].firstPosition <= position) lo = mid;
            else hi = mid - 1;
        }
        return (uint64(lo + 1), _batches[lo]);
    }
}
