// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title PositionalMerkle
/// @notice Leaves and proofs of the positional Merkle tree of `docs/protocol.md`: pairs are
/// hashed unsorted as keccak256(left ‖ right), a last node without a sibling is carried up,
/// and a proof lists siblings bottom-up, skipping the carried levels. Verification binds the
/// index and the leaf count, so a proof can only show one leaf at one position.
library PositionalMerkle {
    /// @notice keccak256(abi.encode(uint256(position), txHash)).
    function leaf(uint64 position, bytes32 txHash) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, position)
            mstore(0x20, txHash)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @notice True iff `leafHash` is leaf number `index` of a `count`-leaf tree with root `root`
    /// and `proof` is consumed exactly. Returns false (never reverts) for any other input.
    function verify(bytes32 leafHash, uint256 index, uint256 count, bytes32[] memory proof, bytes32 root)
        internal
        pure
        returns (bool)
    {
        if (index >= count) return false;
        bytes32 node = leafHash;
        uint256 used;
        uint256 size = count;
        while (size > 1) {
            // A last node at an odd-sized level has no sibling: it is carried up unchanged.
            if (!(index == size - 1 && size & 1 == 1)) {
                if (used == proof.length) return false;
                bytes32 sibling = proof[used];
                unchecked {
                    ++used;
                }
                node = index & 1 == 0 ? _hashPair(node, sibling) : _hashPair(sibling, node);
            }
            index >>= 1;
            unchecked {
                size = (size >> 1) + (size & 1);
            }
        }
        return used == proof.length && node == root;
    }

    /// @notice Root of the tree over `leaves` (at least one), with the carry-up rule. Overwrites `leaves`.
    function rootOf(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 size = leaves.length;
        while (size > 1) {
            uint256 half = size >> 1;
            for (uint256 k = 0; k < half; ++k) {
                leaves[k] = _hashPair(leaves[2 * k], leaves[2 * k + 1]);
            }
            if (size & 1 == 1) leaves[half] = leaves[size - 1];
            size = half + (size & 1);
        }
        return leaves[0];
    }

    function _hashPair(bytes32 left, bytes32 right) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            h := keccak256(0x00, 0x40)
        }
    }
}
