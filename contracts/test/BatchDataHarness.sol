// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BatchData} from "../libraries/BatchData.sol";

/// @notice Test-only: exposes BatchData so the tests can compare its root and its rejections
/// with node/batching/format.ts and node/commitments/merkle.ts, and measure its gas.
contract BatchDataHarness {
    /// @notice BatchData.positionalRoot over a memory copy of `data`, as the inbox calls it.
    function positionalRoot(bytes calldata data, uint64 firstPosition, uint256 positions) external pure returns (bytes32) {
        bytes memory copy = data;
        return BatchData.positionalRoot(copy, firstPosition, positions);
    }

    /// @notice Execution gas of copying `data` to memory and hashing it (what the inbox did
    /// before it decoded the data), and of decoding it and computing its root on top of that.
    function measure(bytes calldata data, uint64 firstPosition, uint256 positions)
        external
        view
        returns (uint256 copyAndHashGas, uint256 rootGas, bytes32 dataHash, bytes32 root)
    {
        uint256 before = gasleft();
        bytes memory copy = data;
        dataHash = keccak256(copy);
        uint256 hashed = gasleft();
        root = BatchData.positionalRoot(copy, firstPosition, positions);
        rootGas = hashed - gasleft();
        copyAndHashGas = before - hashed;
    }
}
