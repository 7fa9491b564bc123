// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SequencerTypes} from "./SequencerTypes.sol";

/// @title StakeQuorum
/// @notice The one check that a set of signatures comes from distinct members of an epoch's
/// active set holding more than half of its stake: the batch inbox's for batch headers, the
/// epoch-key anchor's for epoch keys.
library StakeQuorum {
    /// @notice The valid signatures' signers hold no more than half of the epoch's active stake.
    error InsufficientStakeSigned(uint256 signedStake, uint256 activeStake);
    /// @notice Signature `index` is not a valid 65-byte low-s signature.
    error MalformedSignature(uint256 index);
    /// @notice Signature `index` recovers to an address outside the epoch's active set.
    error SignerNotInActiveSet(uint256 index, address signer);
    /// @notice Signature `index` comes from a signer that already signed this submission.
    error DuplicateSigner(uint256 index, address signer);

    /// @notice Reverts unless `signatures` of `digest` come from distinct `signers` whose
    /// `stakes` add up to more than half of all of theirs.
    /// @dev A bitmap marks the signers seen; the active set is capped by the registry's `maxActive`.
    function check(bytes32 digest, address[] memory signers, uint256[] memory stakes, bytes[] calldata signatures)
        internal
        pure
    {
        uint256 n = signers.length;
        uint256 activeStake;
        for (uint256 j = 0; j < n; ++j) activeStake += stakes[j];
        uint256 signedStake;
        uint256[] memory seen = new uint256[]((n + 255) >> 8);
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = SequencerTypes.trySigner(digest, signatures[i]);
            if (signer == address(0)) revert MalformedSignature(i);
            uint256 j = 0;
            while (j < n && signers[j] != signer) ++j;
            if (j == n) revert SignerNotInActiveSet(i, signer);
            uint256 bit = 1 << (j & 255);
            if (seen[j >> 8] & bit != 0) revert DuplicateSigner(i, signer);
            seen[j >> 8] |= bit;
            signedStake += stakes[j];
        }
        if (signedStake * 2 <= activeStake) revert InsufficientStakeSigned(signedStake, activeStake);
    }
}
