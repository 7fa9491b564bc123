// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PositionalMerkle} from "../libraries/PositionalMerkle.sol";

/// @notice Test-only: exposes PositionalMerkle and an independent on-chain root computation
/// so the tests can check that Solidity and TypeScript agree byte for byte.
contract PositionalMerkleHarness {
    function leaf(uint64 position, bytes32 txHash) external pure returns (bytes32) {
        return PositionalMerkle.leaf(position, txHash);
    }

    function verify(bytes32 leafHash, uint256 index, uint256 count, bytes32[] calldata proof, bytes32 expectedRoot)
        external
        pure
        returns (bool)
    {
        return PositionalMerkle.verify(leafHash, index, count, proof, expectedRoot);
    }

    /// @notice Root of `leaves` with carry-up (docs/protocol.md), computed level by level.
    function root(bytes32[] memory leaves) external pure returns (bytes32) {
        uint256 size = leaves.length;
        require(size > 0, "empty");
        while (size > 1) {
            uint256 half = size / 2;
            for (uint256 k = 0; k < half; k++) {
                leaves[k] = keccak256(abi.encodePacked(leaves[2 * k], leaves[2 * k + 1]));
            }
            if (size % 2 == 1) leaves[half] = leaves[size - 1];
            size = half + size % 2;
        }
        return leaves[0];
    }
}
