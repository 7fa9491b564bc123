// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title BatchData
/// @notice Batch data format v1 (docs/batch-format.md) on chain: decodes the payload
/// `0x01 ‖ varint count ‖ (varint len ‖ tx)*` and computes the positional Merkle root
/// (docs/protocol.md) of `leaf(firstPosition + i, keccak256(tx_i))`, rejecting exactly what
/// `node/batching/format.ts` `decodeBatchData` rejects.
/// @dev Works on one memory copy of the payload (the one its keccak256 needs anyway): each
/// transaction is hashed in place, and the tree is built left to right on a stack of at most
/// 64 words above the free memory pointer (the stack after k leaves holds one perfect subtree
/// per set bit of k; the carry-up rule makes the root the right fold of those subtrees), so no
/// transaction is copied and nothing is allocated.
library BatchData {
    /// @notice The only data format version this library decodes (and the inbox checks against the root).
    uint8 internal constant VERSION = 1;
    /// @notice Format v2: v1 data compressed with brotli, bound by the header's dataHash only.
    uint8 internal constant VERSION_COMPRESSED = 2;
    /// @notice Format v3: the data travels in the transaction's blobs, referenced by their versioned hashes.
    uint8 internal constant VERSION_BLOBS = 3;

    /// @notice The payload is empty.
    error EmptyBatchData();
    /// @notice The first byte is not a known format version.
    error UnsupportedBatchDataVersion(uint8 version);
    /// @notice A varint or a transaction runs past the end of the payload; `offset` is where it starts.
    error TruncatedBatchData(uint256 offset);
    /// @notice The varint at `offset` is not in its shortest form.
    error OverlongVarint(uint256 offset);
    /// @notice The varint at `offset` exceeds 2^53 - 1 (or is longer than 8 bytes).
    error VarintTooLarge(uint256 offset);
    /// @notice The transaction count is 0.
    error NoTransactions();
    /// @notice `count` transactions of at least 2 bytes each cannot fit in the `remaining` bytes.
    error TransactionCountTooLarge(uint256 count, uint256 remaining);
    /// @notice The payload holds `count` transactions, the header's range `positions`.
    error TransactionCountMismatch(uint256 count, uint256 positions);
    /// @notice Transaction `index` has length 0.
    error EmptyTransaction(uint256 index);
    /// @notice Bytes follow the last transaction, from `offset` on.
    error TrailingBatchData(uint256 offset);

    // Fault codes of `_decode`, turned into the errors above by `_revertWith`.
    uint256 private constant _EMPTY = 1;
    uint256 private constant _VERSION = 2;
    uint256 private constant _TRUNCATED = 3;
    uint256 private constant _OVERLONG = 4;
    uint256 private constant _TOO_LARGE = 5;
    uint256 private constant _NO_TXS = 6;
    uint256 private constant _COUNT_TOO_LARGE = 7;
    uint256 private constant _COUNT_MISMATCH = 8;
    uint256 private constant _EMPTY_TX = 9;
    uint256 private constant _TRAILING = 10;

    /// @notice Positional Merkle root of the transactions in `data`, which must be well-formed v1
    /// data holding exactly `positions` transactions, the first at `firstPosition`.
    /// @dev Reverts with one of this library's errors otherwise. `firstPosition + positions - 1`
    /// must fit in 64 bits (the header's lastPosition does).
    function positionalRoot(bytes memory data, uint64 firstPosition, uint256 positions) internal pure returns (bytes32 root) {
        uint256 fault;
        uint256 a;
        uint256 b;
        (fault, a, b, root) = _decode(data, firstPosition, positions);
        if (fault != 0) _revertWith(fault, a, b);
    }

    function _decode(bytes memory data, uint64 firstPosition, uint256 positions)
        private
        pure
        returns (uint256 fault, uint256 a, uint256 b, bytes32 root)
    {
        assembly ("memory-safe") {
            // Canonical unsigned LEB128 at `p`, at most 2^53 - 1 (node/codec Reader.varint):
            // returns the value, the position after it, and a fault code (0 if none).
            function varint(p, end) -> value, next, f {
                next := p
                for { let shift := 0 } 1 {} {
                    if iszero(lt(next, end)) {
                        f := _TRUNCATED
                        leave
                    }
                    let c := byte(0, mload(next))
                    next := add(next, 1)
                    value := or(value, shl(shift, and(c, 0x7f)))
                    if iszero(and(c, 0x80)) {
                        // A last byte of 0 after another one adds nothing: not the shortest form.
                        if and(iszero(c), gt(shift, 0)) {
                            f := _OVERLONG
                            leave
                        }
                        if gt(value, 0x1fffffffffffff) { f := _TOO_LARGE }
                        leave
                    }
                    shift := add(shift, 7)
                    if eq(shift, 56) {
                        f := _TOO_LARGE
                        leave
                    }
                }
            }

            // Version and count: returns the count and where the first transaction starts; on a
            // fault, `x` is an offset into the data or a value.
            function header(start, end, expected) -> count, p, f, x, y {
                if eq(start, end) {
                    f := _EMPTY
                    leave
                }
                let version := byte(0, mload(start))
                if iszero(eq(version, 1)) {
                    f := _VERSION
                    x := version
                    leave
                }
                count, p, f := varint(add(start, 1), end)
                if f {
                    x := 1
                    leave
                }
                // Every transaction takes at least 2 bytes (count <= 2^53 - 1: no overflow).
                if gt(shl(1, count), sub(end, p)) {
                    f := _COUNT_TOO_LARGE
                    x := count
                    y := sub(end, p)
                    leave
                }
                if iszero(count) {
                    f := _NO_TXS
                    leave
                }
                if iszero(eq(count, expected)) {
                    f := _COUNT_MISMATCH
                    x := count
                    y := expected
                }
            }

            // The `count` transactions from `p` on, pushed as leaves onto a stack of subtree
            // roots above the free memory pointer; returns the root. On a fault, `x` is where
            // (a memory pointer), or the transaction's index for an empty one.
            function tree(p, end, first, count) -> r, f, x {
                let sp := mload(0x40)
                for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                    // The length prefix. Under 16 KiB it has 1 or 2 bytes, read inline (a byte
                    // past `end` read here is refused as truncation before anything uses it);
                    // longer ones go through `varint`.
                    let len := byte(0, mload(p))
                    let q := add(p, 1)
                    if gt(len, 0x7f) {
                        let b1 := byte(1, mload(p))
                        switch lt(b1, 0x80)
                        case 1 {
                            len := or(and(len, 0x7f), shl(7, b1))
                            q := add(p, 2)
                            if iszero(b1) { f := _OVERLONG }
                        }
                        default { len, q, f := varint(p, end) }
                    }
                    // One test on the common path (len <= 2^53 - 1: no overflow); the fault
                    // path tells the rules apart in the node decoder's order.
                    if or(f, or(iszero(len), gt(add(q, len), end))) {
                        // A prefix running past the end is truncated, even if also overlong.
                        if gt(q, end) { f := _TRUNCATED }
                        if f {
                            x := p
                            leave
                        }
                        if iszero(len) {
                            f := _EMPTY_TX
                            x := i
                            leave
                        }
                        f := _TRUNCATED
                        x := q
                        leave
                    }
                    // leaf(first + i, keccak256(tx_i)), hashed in place and pushed.
                    mstore(0x00, add(first, i))
                    mstore(0x20, keccak256(q, len))
                    mstore(sp, keccak256(0x00, 0x40))
                    sp := add(sp, 0x20)
                    p := add(q, len)
                    // With k = i + 1 leaves, merge the two top subtrees once per trailing zero of k.
                    for { let k := add(i, 1) } iszero(and(k, 1)) { k := shr(1, k) } {
                        sp := sub(sp, 0x20)
                        let left := sub(sp, 0x20)
                        mstore(left, keccak256(left, 0x40))
                    }
                }
                if lt(p, end) {
                    f := _TRAILING
                    x := p
                    leave
                }
                // Fold from the top: root = H(T_0, H(T_1, … H(T_{m-2}, T_{m-1}))), as carrying up
                // each level's odd last node gives.
                let base := mload(0x40)
                sp := sub(sp, 0x20)
                r := mload(sp)
                for {} gt(sp, base) {} {
                    sp := sub(sp, 0x20)
                    mstore(add(sp, 0x20), r)
                    r := keccak256(sp, 0x40)
                }
            }

            let start := add(data, 0x20)
            let end := add(start, mload(data))
            let count, p
            count, p, fault, a, b := header(start, end, positions)
            if iszero(fault) {
                root, fault, a := tree(p, end, firstPosition, count)
                // A pointer becomes an offset into the data (an empty transaction's index stays).
                if and(iszero(iszero(fault)), iszero(eq(fault, _EMPTY_TX))) { a := sub(a, start) }
            }
        }
    }

    function _revertWith(uint256 fault, uint256 a, uint256 b) private pure {
        if (fault == _EMPTY) revert EmptyBatchData();
        if (fault == _VERSION) revert UnsupportedBatchDataVersion(uint8(a));
        if (fault == _TRUNCATED) revert TruncatedBatchData(a);
        if (fault == _OVERLONG) revert OverlongVarint(a);
        if (fault == _TOO_LARGE) revert VarintTooLarge(a);
        if (fault == _NO_TXS) revert NoTransactions();
        if (fault == _COUNT_TOO_LARGE) revert TransactionCountTooLarge(a, b);
        if (fault == _COUNT_MISMATCH) revert TransactionCountMismatch(a, b);
        if (fault == _EMPTY_TX) revert EmptyTransaction(a);
        revert TrailingBatchData(a);
    }
}
