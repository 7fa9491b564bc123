// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ForcedInclusionQueue} from "../ForcedInclusionQueue.sol";

/// @notice Test-only: enqueues several items in one transaction (one L1 block), to reach the
/// queue's per-block caps.
contract ForcedEnqueuer {
    /// @notice Enqueues each of `rawTxs` in order; bubbles up the first revert.
    function enqueueAll(ForcedInclusionQueue queue, bytes[] calldata rawTxs) external {
        for (uint256 i = 0; i < rawTxs.length; ++i) {
            queue.enqueue(rawTxs[i]);
        }
    }
}
