// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title LeaderSchedule
/// @notice Stake-weighted pseudo-random ordering without replacement. Mirrored byte for byte
/// by `node/l1/schedule.ts`; change both or neither.
///
/// Round `k` (0-based) draws `r = uint256(keccak256(abi.encode(seed, k))) % remainingWeight`
/// and picks the first not-yet-picked index `i` (in input order) whose running sum of
/// remaining weights exceeds `r`. The modulo bias is below 2^-150 for weights under 2^100.
library LeaderSchedule {
    /// @dev A weight is zero: every candidate must be able to be drawn.
    error ZeroWeight(uint256 index);

    /// @notice Indices of `weights`, in draw order (first = primary).
    function weightedOrder(bytes32 seed, uint256[] memory weights) internal pure returns (uint256[] memory order) {
        uint256 n = weights.length;
        order = new uint256[](n);
        uint256 remaining;
        for (uint256 i; i < n; ++i) {
            if (weights[i] == 0) revert ZeroWeight(i);
            remaining += weights[i];
        }
        bool[] memory taken = new bool[](n);
        for (uint256 round; round < n; ++round) {
            uint256 r = uint256(keccak256(abi.encode(seed, round))) % remaining;
            uint256 acc;
            uint256 pick;
            for (uint256 i; i < n; ++i) {
                if (taken[i]) continue;
                acc += weights[i];
                if (r < acc) {
                    pick = i;
                    break;
                }
            }
            taken[pick] = true;
            order[round] = pick;
            remaining -= weights[pick];
        }
    }
}
