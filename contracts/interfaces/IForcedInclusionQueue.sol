// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice What the BatchInbox reads of the forced-inclusion queue.
interface IForcedInclusionQueue {
    /// @notice L1 blocks after its enqueue block by which an item must be covered by a batch.
    function inclusionDelay() external view returns (uint64);

    /// @notice Number of items ever enqueued.
    function length() external view returns (uint64);

    /// @notice Item `index`: the keccak256 of its raw transaction, its chain hash and its enqueue block.
    function item(uint64 index) external view returns (bytes32 txHash, bytes32 chainHash, uint64 l1Block);
}
