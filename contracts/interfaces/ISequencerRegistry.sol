// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title ISequencerRegistry
/// @notice What the batch inbox, the slashing contract and the nodes need from the
/// staking registry: the frozen active set and leader schedule of an epoch, the
/// signer -> operator binding, the EIP-712 domain, and a slashing hook.
interface ISequencerRegistry {
    /// @notice One member of an epoch's active set, as frozen at the epoch's snapshot.
    struct Member {
        address operator;
        address signer;
        bytes peerId;
        /// @dev The libp2p key's signature of the operator's key binding: unverified on chain,
        /// nodes trust `peerId` only if it verifies (docs/contracts.md, "Threat model").
        bytes peerIdProof;
        string[] addrs;
        uint256 stake;
    }

    /// @notice The staked ERC-20 (slashed stake and reporter rewards are paid in it).
    function stakeToken() external view returns (IERC20);

    /// @notice The epoch that contains `block.number`.
    function currentEpoch() external view returns (uint64);

    /// @notice Blocks per epoch.
    function epochLength() external view returns (uint256);

    /// @notice Blocks between an unstake request and its withdrawal (stake stays slashable).
    function unbondingPeriod() external view returns (uint256);

    /// @notice Least `unbondingPeriod` governance can set, in epochs (fixed at deployment): the
    /// registry refuses any unbonding period below `minUnbondingEpochs() * epochLength()`.
    function minUnbondingEpochs() external view returns (uint256);

    /// @notice First L1 block of `epoch`.
    function epochStartBlock(uint64 epoch) external view returns (uint256);

    /// @notice Freezes the current epoch's active set (and schedule seed) if it is not
    /// frozen yet; every state-changing function calls it first. Returns the current epoch.
    function checkpoint() external returns (uint64 epoch);

    /// @notice Active set of `epoch` (largest stake first). For epochs up to the current one
    /// this is the frozen set; for `currentEpoch() + 1` it is the set as it stands now
    /// (still subject to change until that epoch begins). Reverts for later epochs.
    function activeSet(uint64 epoch) external view returns (Member[] memory);

    /// @notice Signing addresses of `epoch`'s active set, in active-set order.
    function activeSigners(uint64 epoch) external view returns (address[] memory);

    /// @notice Signing addresses of `epoch`'s active set with their frozen stakes, in active-set
    /// order: what a stake-weighted quorum of the set is counted in.
    function activeSignerStakes(uint64 epoch) external view returns (address[] memory signers, uint256[] memory stakes);

    /// @notice Leader schedule of `epoch`: operators of the active set, primary first,
    /// stake-weighted pseudo-random order from the epoch's seed.
    function leaderSchedule(uint64 epoch) external view returns (address[] memory);

    /// @notice The operator a signing address is (or was) bound to; address(0) if none.
    function operatorOfSigner(address signer) external view returns (address);

    /// @notice The account that posts `operator`'s batches: the one it set with `setBatcher`, else
    /// its current signer; address(0) if it never registered.
    function batcherOf(address operator) external view returns (address);

    /// @notice The signer of the registration `account` posts batches for: `account` itself if it
    /// is a signer whose operator set no other batcher, else the current signer of the operator
    /// that set `account` as its batcher; address(0) if `account` is nobody's batcher. The inbox
    /// lets `account` post a batch iff this signer is in the header epoch's active set.
    function signerOfBatcher(address account) external view returns (address);

    /// @notice EIP-712 domain separator ("StakedSequencer", "1", chainid, this registry).
    function domainSeparator() external view returns (bytes32);

    /// @notice Slashes `operator` (active and unbonding stake), pays the reporter share
    /// to `reporter`, and jails the operator (out of the active set from the next epoch).
    /// Only callable by the slashing contract set at deployment. Returns the amount slashed and
    /// the part of it paid to `reporter`.
    function slash(address operator, address reporter) external returns (uint256 slashed, uint256 toReporter);
}
