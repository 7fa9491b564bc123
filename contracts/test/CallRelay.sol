// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test-only: forwards a call, as an attacker's contract (or the code an EIP-7702
/// account delegates to) relaying a copy of someone's pending transaction would.
contract CallRelay {
    /// @notice Calls `target` with `input`; bubbles up a revert.
    function relay(address target, bytes calldata input) external returns (bytes memory result) {
        bool ok;
        (ok, result) = target.call(input);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }
}
