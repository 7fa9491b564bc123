// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IForcedInclusionQueue} from "./interfaces/IForcedInclusionQueue.sol";

/// @title ForcedInclusionQueue
/// @notice The L1 queue through which anyone forces a signed raw transaction into the sequenced
/// stream (docs/forced-inclusion.md). Each item is hash-chained to the one before and evented
/// with its bytes; the BatchInbox rejects any batch that leaves an item older than
/// `inclusionDelay` blocks uncovered, so the set must order it within that delay.
/// @dev No fee: the enqueuer pays the L1 gas of the call (calldata, the event's bytes and one
/// storage slot per item), which already prices the item at L1's own rate, and the per-block caps
/// below bound what an enqueuer can make the set (and derivation) do per L1 block whatever it
/// pays: at most `MAX_ITEMS_PER_BLOCK` items and `MAX_BYTES_PER_BLOCK` bytes. The queue does not
/// decode the bytes: an invalid transaction is ordered like any other and skipped by execution.
contract ForcedInclusionQueue is IForcedInclusionQueue {
    /// @notice Largest raw transaction an item may hold (the nodes' intake limit).
    uint256 public constant MAX_ITEM_BYTES = 65_536;
    /// @notice Most items enqueued in one L1 block.
    uint256 public constant MAX_ITEMS_PER_BLOCK = 16;
    /// @notice Most raw-transaction bytes enqueued in one L1 block.
    uint256 public constant MAX_BYTES_PER_BLOCK = 131_072;

    /// @notice L1 blocks after its enqueue block by which an item must be covered by a batch.
    uint64 public immutable inclusionDelay;

    struct Item {
        bytes32 txHash;
        bytes32 chainHash;
        uint64 l1Block;
    }

    Item[] private _items;
    /// @dev Use of the per-block caps: the block they count for, items and bytes in it.
    uint64 private _capBlock;
    uint32 private _capItems;
    uint32 private _capBytes;

    /// @notice Item `index` was enqueued: `rawTx` must be ordered within `inclusionDelay` blocks.
    /// `chainHash = keccak256(abi.encode(previous chainHash, index, l1Block, txHash))`, the
    /// previous one being 0 for the first item; `txHash = keccak256(rawTx)`.
    event ForcedTransactionEnqueued(
        uint64 indexed index, bytes32 indexed txHash, uint64 l1Block, bytes32 chainHash, address sender, bytes rawTx
    );

    /// @notice The raw transaction is empty.
    error EmptyForcedTransaction();
    /// @notice The raw transaction starts with a byte in 0x80-0xbf, which the stream reserves for its
    /// own position records (encrypted transactions, slot closes and keys: docs/threshold-encryption.md);
    /// no Ethereum transaction starts there, and a forced one must not pose as such a record.
    error ReservedFirstByte(uint8 firstByte);
    /// @notice The raw transaction is longer than `MAX_ITEM_BYTES`.
    error ForcedTransactionTooLarge(uint256 length, uint256 maxLength);
    /// @notice This block already holds `MAX_ITEMS_PER_BLOCK` items: retry in a later block.
    error BlockItemCapReached(uint256 maxItems);
    /// @notice This item would take the block past `MAX_BYTES_PER_BLOCK`: retry in a later block.
    error BlockByteCapReached(uint256 usedBytes, uint256 length, uint256 maxBytes);
    /// @notice The inclusion delay must be at least 1 block.
    error InvalidInclusionDelay();
    /// @notice No item with this index.
    error UnknownForcedItem(uint64 index);

    /// @param inclusionDelay_ L1 blocks an item may wait for a covering batch (50 = 10 minutes on 12 s blocks).
    constructor(uint64 inclusionDelay_) {
        if (inclusionDelay_ == 0) revert InvalidInclusionDelay();
        inclusionDelay = inclusionDelay_;
    }

    /// @notice Enqueues a signed raw transaction for forced inclusion; anyone may, for its L1 gas only.
    /// @param rawTx The transaction's bytes as the nodes take them (`eth_sendRawTransaction` input).
    /// @return index The item's index in the queue.
    function enqueue(bytes calldata rawTx) external returns (uint64 index) {
        uint256 size = rawTx.length;
        if (size == 0) revert EmptyForcedTransaction();
        if (size > MAX_ITEM_BYTES) revert ForcedTransactionTooLarge(size, MAX_ITEM_BYTES);
        {
            uint8 first = uint8(rawTx[0]);
            if (first >= 0x80 && first <= 0xbf) revert ReservedFirstByte(first);
        }
        uint64 blockNumber = uint64(block.number);
        uint256 items = _capBlock == blockNumber ? _capItems : 0;
        uint256 used = _capBlock == blockNumber ? _capBytes : 0;
        if (items >= MAX_ITEMS_PER_BLOCK) revert BlockItemCapReached(MAX_ITEMS_PER_BLOCK);
        if (used + size > MAX_BYTES_PER_BLOCK) revert BlockByteCapReached(used, size, MAX_BYTES_PER_BLOCK);
        _capBlock = blockNumber;
        _capItems = uint32(items + 1);
        _capBytes = uint32(used + size);

        index = uint64(_items.length);
        bytes32 txHash = keccak256(rawTx);
        bytes32 prev = index == 0 ? bytes32(0) : _items[index - 1].chainHash;
        bytes32 chainHash = keccak256(abi.encode(prev, index, blockNumber, txHash));
        _items.push(Item({txHash: txHash, chainHash: chainHash, l1Block: blockNumber}));
        emit ForcedTransactionEnqueued(index, txHash, blockNumber, chainHash, msg.sender, rawTx);
    }

    /// @inheritdoc IForcedInclusionQueue
    function length() external view returns (uint64) {
        return uint64(_items.length);
    }

    /// @inheritdoc IForcedInclusionQueue
    function item(uint64 index) external view returns (bytes32 txHash, bytes32 chainHash, uint64 l1Block) {
        if (index >= _items.length) revert UnknownForcedItem(index);
        Item storage it = _items[index];
        return (it.txHash, it.chainHash, it.l1Block);
    }
}
