// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ISequencerRegistry} from "./interfaces/ISequencerRegistry.sol";
import {BatchInbox} from "./BatchInbox.sol";
import {PositionalMerkle} from "./libraries/PositionalMerkle.sol";
import {BatchHeader, OrderCommitment, SequencerTypes} from "./libraries/SequencerTypes.sol";

/// @title Slashing
/// @notice Anyone can prove that a sequencer signing key misbehaved; a valid proof slashes the
/// operator the key is bound to (`registry.operatorOfSigner`) and pays the reporter share to
/// the caller. Three offences:
/// - batch equivocation: one signer signed two different headers with the same batch number and
///   the same epoch;
/// - certificate equivocation: one signer signed two certificates that put different
///   transactions at the same position;
/// - broken order commitment: a signed certificate puts transaction X at position p, and the
///   batch accepted by the inbox has a different transaction at p.
/// @dev Each offence has an id naming the incident, not the evidence: (signer, batch number, epoch) for
/// batch equivocation, (signer, the two certificate hashes in canonical order) for certificate
/// equivocation, (signer, certificate hash) for a broken commitment. An incident is punished once,
/// however many positions or headers prove it. The registry and inbox are trusted
/// contracts set at deployment; the id is recorded before `registry.slash` is called (CEI).
contract Slashing {
    /// @notice The offence kinds, as recorded in `Slashed`.
    enum Offence {
        BatchEquivocation,
        CertificateEquivocation,
        BrokenOrderCommitment
    }

    /// @notice A signed certificate plus the Merkle proof of one of its leaves.
    /// @param certificate The certificate.
    /// @param signature 65-byte EIP-712 signature of `certificate` (registry domain).
    /// @param txHash The transaction hash the certificate puts at the position in question.
    /// @param proof Merkle proof of `leaf(position, txHash)` at index `position - firstPosition`.
    struct CertifiedLeaf {
        OrderCommitment certificate;
        bytes signature;
        bytes32 txHash;
        bytes32[] proof;
    }

    /// @notice The staking registry (the only contract this one slashes through).
    ISequencerRegistry public immutable registry;
    /// @notice The batch inbox whose accepted batches certificates are checked against.
    BatchInbox public immutable inbox;

    /// @notice Offence ids already punished.
    mapping(bytes32 offenceId => bool) public isSlashed;

    /// @notice `operator` was slashed for `offence` proven against `signer`.
    event Slashed(
        bytes32 indexed offenceId,
        Offence indexed offence,
        address indexed operator,
        address signer,
        address reporter,
        uint256 amount
    );

    /// @notice Signature `which` (0 = first item, 1 = second) is malformed or recovers no key.
    error BadSignature(uint256 which);
    /// @notice The two signatures come from different signers.
    error SignersDiffer(address first, address second);
    /// @notice The recovered signer is not bound to any operator in the registry.
    error UnknownSigner(address signer);
    /// @notice The two batch headers have different batch numbers.
    error BatchNumbersDiffer(uint64 first, uint64 second);
    /// @notice The two batch headers are for different epochs: re-signing under a later epoch is
    /// allowed (see slashBatchEquivocation).
    error EpochsDiffer(uint64 first, uint64 second);
    /// @notice The two items are the same header: signing one header twice is no offence.
    error NotEquivocation();
    /// @notice `position` lies outside the range of certificate `which`.
    error PositionOutOfRange(uint256 which, uint64 position, uint64 firstPosition, uint64 lastPosition);
    /// @notice Merkle proof `which` (0 = first/certificate, 1 = second/batch) does not verify.
    error InvalidProof(uint256 which);
    /// @notice The two items put the same transaction at the position: nothing to punish.
    error LeavesAgree(bytes32 txHash);
    /// @notice No batch accepted by the inbox covers `position` yet.
    error NoBatchCoversPosition(uint64 position);
    /// @notice This offence has already been punished.
    error AlreadySlashed(bytes32 offenceId);

    /// @param registry_ The staking registry; it must have this contract as its slasher.
    /// @param inbox_ The batch inbox.
    constructor(ISequencerRegistry registry_, BatchInbox inbox_) {
        registry = registry_;
        inbox = inbox_;
    }

    /// @notice Proves that one signer signed two different batch headers with the same number
    /// and the same epoch.
    /// @dev Signing batch n again under a later epoch is not an offence: when the set of the epoch
    /// that cut batch n can no longer gather a quorum, the next epoch's set must be able to sign
    /// it, and the inbox accepts only one header per batch number, so two headers of different
    /// epochs can never both become batch n. Only same-epoch double signing can produce two
    /// quorum-signed candidates usable at the same time (a fork of the batch chain).
    /// @param a First header.
    /// @param sigA Signature of `a`.
    /// @param b Second header (same `batchNumber` and `epoch`, different content).
    /// @param sigB Signature of `b`.
    /// @return amount The stake slashed.
    function slashBatchEquivocation(
        BatchHeader calldata a,
        bytes calldata sigA,
        BatchHeader calldata b,
        bytes calldata sigB
    ) external returns (uint256 amount) {
        if (a.batchNumber != b.batchNumber) revert BatchNumbersDiffer(a.batchNumber, b.batchNumber);
        if (a.epoch != b.epoch) revert EpochsDiffer(a.epoch, b.epoch);
        bytes32 hashA = SequencerTypes.hash(a);
        bytes32 hashB = SequencerTypes.hash(b);
        if (hashA == hashB) revert NotEquivocation();

        bytes32 domainSeparator = registry.domainSeparator();
        address signer = _sameSigner(
            SequencerTypes.trySigner(MessageHashUtils.toTypedDataHash(domainSeparator, hashA), sigA),
            SequencerTypes.trySigner(MessageHashUtils.toTypedDataHash(domainSeparator, hashB), sigB)
        );
        // One offence per signer, batch number and epoch, however many different headers it signed.
        bytes32 id = keccak256(abi.encode(Offence.BatchEquivocation, signer, a.batchNumber, a.epoch));
        return _slash(id, Offence.BatchEquivocation, signer);
    }

    /// @notice Proves that one signer signed two certificates putting different transactions at
    /// `position`.
    /// @param position The contested position (inside both certificates' ranges).
    /// @param a First certificate, its signature, and its leaf at `position` with proof.
    /// @param b Second certificate, its signature, and a different leaf at `position` with proof.
    /// @return amount The stake slashed.
    function slashCertificateEquivocation(uint64 position, CertifiedLeaf calldata a, CertifiedLeaf calldata b)
        external
        returns (uint256 amount)
    {
        if (a.txHash == b.txHash) revert LeavesAgree(a.txHash);
        _checkCertifiedLeaf(0, position, a);
        _checkCertifiedLeaf(1, position, b);

        bytes32 hashA = SequencerTypes.hash(a.certificate);
        bytes32 hashB = SequencerTypes.hash(b.certificate);
        bytes32 domainSeparator = registry.domainSeparator();
        address signer = _sameSigner(
            SequencerTypes.trySigner(MessageHashUtils.toTypedDataHash(domainSeparator, hashA), a.signature),
            SequencerTypes.trySigner(MessageHashUtils.toTypedDataHash(domainSeparator, hashB), b.signature)
        );
        // One offence per pair of conflicting certificates, however many positions they contradict on.
        (bytes32 lo, bytes32 hi) = _ordered(hashA, hashB);
        bytes32 id = keccak256(abi.encode(Offence.CertificateEquivocation, signer, lo, hi));
        return _slash(id, Offence.CertificateEquivocation, signer);
    }

    /// @notice Proves that a signed certificate puts a transaction at `position` that the
    /// accepted batch covering `position` does not hold there.
    /// @param position The contested position.
    /// @param c The certificate, its signature, and its leaf at `position` with proof.
    /// @param batchTxHash The transaction hash the accepted batch holds at `position`.
    /// @param batchProof Merkle proof of `leaf(position, batchTxHash)` against the batch's root.
    /// @return amount The stake slashed.
    function slashBrokenCommitment(
        uint64 position,
        CertifiedLeaf calldata c,
        bytes32 batchTxHash,
        bytes32[] calldata batchProof
    ) external returns (uint256 amount) {
        if (c.txHash == batchTxHash) revert LeavesAgree(batchTxHash);
        _checkCertifiedLeaf(0, position, c);

        BatchInbox.Batch memory b;
        try inbox.batchCoveringPosition(position) returns (uint64, BatchInbox.Batch memory found) {
            b = found;
        } catch {
            revert NoBatchCoversPosition(position);
        }
        bool inBatch = PositionalMerkle.verify(
            PositionalMerkle.leaf(position, batchTxHash),
            position - b.firstPosition,
            uint256(b.lastPosition - b.firstPosition) + 1,
            batchProof,
            b.merkleRoot
        );
        if (!inBatch) revert InvalidProof(1);

        bytes32 certHash = SequencerTypes.hash(c.certificate);
        address signer =
            SequencerTypes.trySigner(MessageHashUtils.toTypedDataHash(registry.domainSeparator(), certHash), c.signature);
        if (signer == address(0)) revert BadSignature(0);
        // One offence per broken certificate, however many of its positions the batch contradicts.
        bytes32 id = keccak256(abi.encode(Offence.BrokenOrderCommitment, signer, certHash));
        return _slash(id, Offence.BrokenOrderCommitment, signer);
    }

    /// @dev Reverts unless `position` is in the certificate's range and its leaf proof verifies.
    function _checkCertifiedLeaf(uint256 which, uint64 position, CertifiedLeaf calldata item) private pure {
        OrderCommitment calldata cert = item.certificate;
        if (position < cert.firstPosition || position > cert.lastPosition) {
            revert PositionOutOfRange(which, position, cert.firstPosition, cert.lastPosition);
        }
        bool ok = PositionalMerkle.verify(
            PositionalMerkle.leaf(position, item.txHash),
            position - cert.firstPosition,
            uint256(cert.lastPosition - cert.firstPosition) + 1,
            item.proof,
            cert.merkleRoot
        );
        if (!ok) revert InvalidProof(which);
    }

    /// @dev The common signer of two recovered addresses (address(0) = bad signature).
    function _sameSigner(address first, address second) private pure returns (address) {
        if (first == address(0)) revert BadSignature(0);
        if (second == address(0)) revert BadSignature(1);
        if (first != second) revert SignersDiffer(first, second);
        return first;
    }

    function _ordered(bytes32 x, bytes32 y) private pure returns (bytes32, bytes32) {
        return x < y ? (x, y) : (y, x);
    }

    /// @dev Records the offence, then slashes the signer's operator (checks-effects-interactions).
    function _slash(bytes32 id, Offence offence, address signer) private returns (uint256 amount) {
        if (isSlashed[id]) revert AlreadySlashed(id);
        address operator = registry.operatorOfSigner(signer);
        if (operator == address(0)) revert UnknownSigner(signer);
        isSlashed[id] = true;
        amount = registry.slash(operator, msg.sender);
        emit Slashed(id, offence, operator, signer, msg.sender, amount);
    }
}
