// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ISequencerRegistry} from "./interfaces/ISequencerRegistry.sol";
import {PositionalMerkle} from "./libraries/PositionalMerkle.sol";
import {BatchHeader, OrderCommitment, SequencerTypes} from "./libraries/SequencerTypes.sol";

/// @title Slashing
/// @notice Anyone can prove that a sequencer signing key signed two statements that cannot both
/// be true; a valid proof slashes the operator the key is bound to (`registry.operatorOfSigner`).
/// Every statement a key signs is about committed positions of the replicated log, which never
/// change, so an honest operator never signs two conflicting ones, whatever the others do. Four
/// offences:
/// - batch equivocation: one signer signed two different headers with the same batch number and
///   the same epoch;
/// - certificate equivocation: one signer signed two certificates that put different
///   transactions at the same position;
/// - broken order commitment: one signer signed a certificate putting transaction X at position
///   p and a batch header putting another transaction at p;
/// - conflicting batches: one signer signed two batch headers putting different transactions at
///   the same position.
/// A certificate contradicted by a batch its signer did not sign proves nothing against that
/// signer: a colluding stake majority can sign any batch, so punishing the certificate's signer
/// would let it slash an honest leader. What makes a commitment accountable against a majority
/// is a quorum-signed batch header covering it (docs/contracts.md, threat model): any other
/// quorum's batch shares a signer with it, and that signer is slashable here.
///
/// Reporting is commit-reveal, so that a proof copied from the mempool earns the copier nothing:
/// the reporter first {commit}s `commitmentOf(offenceId, reporter, salt)`, which names neither the
/// offence nor the evidence, and at least one block later reveals the proof with `reporter` and
/// `salt`. The first valid reveal slashes at once; the reporter share stays here, held for
/// CLAIM_WINDOW blocks, during which a reveal backed by an earlier commitment takes the reward
/// over. The reward goes to the earliest committer that reveals in time: a copier can only
/// commit after it saw the proof, later than its author. An offender can always commit first
/// (it knows its offence before anyone): the registry bounds the reporter share so that
/// self-reporting still costs it most of the slash.
/// @dev Each offence has an id naming the incident, not the evidence, so an incident is punished
/// once however many positions, certificates or headers prove it: (signer, batch number, epoch)
/// for batch equivocation, (signer, the two certificate hashes in canonical order) for
/// certificate equivocation, (signer, the contradicting header's batch number) for a broken
/// commitment, (signer, both batch numbers in order) for conflicting batches (same number and
/// epoch: the batch-equivocation id, one incident). The registry is a trusted contract set at
/// deployment; the id is recorded before `registry.slash` is called (CEI), and the reward it
/// returns is recorded after it, under the reentrancy guard.
contract Slashing is ReentrancyGuard {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.Bytes32Set;

    /// @notice The offence kinds, as recorded in `Slashed`.
    enum Offence {
        BatchEquivocation,
        CertificateEquivocation,
        BrokenOrderCommitment,
        ConflictingBatches
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

    /// @notice A signed batch header plus the Merkle proof of one of its leaves.
    /// @param header The batch header (accepted by the inbox or not: signing it is the statement).
    /// @param signature 65-byte EIP-712 signature of `header` (registry domain).
    /// @param txHash The transaction hash the header puts at the position in question.
    /// @param proof Merkle proof of `leaf(position, txHash)` at index `position - firstPosition`.
    struct SignedBatchLeaf {
        BatchHeader header;
        bytes signature;
        bytes32 txHash;
        bytes32[] proof;
    }

    /// @notice A commitment: its place in commitment order (1 = first ever) and its block.
    struct Commitment {
        uint64 index;
        uint64 blockNumber;
    }

    /// @notice Who gets an offence's reporter reward: the reporter whose commitment backs the
    /// earliest reveal so far, the reward, and the block from which it can be paid out.
    struct Claim {
        address reporter;
        uint64 commitmentIndex;
        uint64 claimableFrom;
        bool paid;
        uint96 reward;
    }

    /// @notice Blocks after the first reveal during which an earlier commitment's reveal takes
    /// the reward over (about 13 minutes at 12 s blocks: a copier would have to keep the honest
    /// reveal out of that many blocks).
    uint256 public constant CLAIM_WINDOW = 64;

    /// @notice The staking registry (the only contract this one slashes through).
    ISequencerRegistry public immutable registry;
    /// @notice The registry's stake token, in which reporter rewards are held and paid.
    IERC20 public immutable stakeToken;

    /// @notice Offence ids already punished.
    mapping(bytes32 offenceId => bool) public isSlashed;
    /// @notice Number of commitments so far.
    uint64 public commitmentCount;

    mapping(bytes32 commitment => Commitment) private _commitments;
    mapping(bytes32 offenceId => Claim) private _claims;
    mapping(address reporter => EnumerableSet.Bytes32Set) private _unpaid;

    /// @notice `operator` was slashed for `offence` proven against `signer`; `reporter` holds the
    /// reward claim for now (see {claimOf}).
    event Slashed(
        bytes32 indexed offenceId,
        Offence indexed offence,
        address indexed operator,
        address signer,
        address reporter,
        uint256 amount
    );
    /// @notice `commitment` was recorded as number `index` (see {commitmentOf}).
    event ProofCommitted(bytes32 indexed commitment, uint64 index, address indexed sender);
    /// @notice A reveal backed by an earlier commitment took `offenceId`'s reward over.
    event ReporterReplaced(bytes32 indexed offenceId, address indexed previous, address indexed reporter);
    /// @notice The reward of `offenceId` was paid to `reporter`.
    event RewardPaid(bytes32 indexed offenceId, address indexed reporter, uint256 amount);

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
    /// @notice `position` lies outside the range of item `which` (a certificate or a header).
    error PositionOutOfRange(uint256 which, uint64 position, uint64 firstPosition, uint64 lastPosition);
    /// @notice Merkle proof `which` (0 = first item, 1 = second) does not verify.
    error InvalidProof(uint256 which);
    /// @notice The two items put the same transaction at the position: nothing to punish.
    error LeavesAgree(bytes32 txHash);
    /// @notice This offence has already been punished, and this reveal cannot take its reward
    /// over (its commitment is not earlier, or the claim window has closed).
    error AlreadySlashed(bytes32 offenceId);
    /// @notice The commitment has already been made.
    error AlreadyCommitted(bytes32 commitment);
    /// @notice No commitment `commitmentOf(offenceId, reporter, salt)` was made.
    error NotCommitted(bytes32 commitment);
    /// @notice The commitment was made in this block: reveal from the next one on.
    error RevealTooEarly(bytes32 commitment, uint64 committedAt);
    /// @notice `reporter` is the zero address.
    error ZeroReporter();
    /// @notice The offence has no reward claim (it was never slashed).
    error NoClaim(bytes32 offenceId);
    /// @notice The claim window is open until `claimableFrom`: an earlier committer may still reveal.
    error ClaimWindowOpen(bytes32 offenceId, uint64 claimableFrom);
    /// @notice The reward has already been paid.
    error RewardAlreadyPaid(bytes32 offenceId);

    /// @param registry_ The staking registry; it must have this contract as its slasher.
    constructor(ISequencerRegistry registry_) {
        registry = registry_;
        stakeToken = registry_.stakeToken();
    }

    /// @notice The commitment a reporter makes before revealing the proof of `offenceId`.
    /// @param offenceId The offence id the proof will prove (see the contract notes).
    /// @param reporter Who is to receive the reward.
    /// @param salt A secret random value, so that the commitment does not reveal the offence.
    function commitmentOf(bytes32 offenceId, address reporter, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(offenceId, reporter, salt));
    }

    /// @notice Records `commitment` (from {commitmentOf}); its proof can be revealed from the
    /// next block on. Anyone may commit on a reporter's behalf: the reporter is inside.
    /// @param commitment The commitment.
    function commit(bytes32 commitment) external {
        if (_commitments[commitment].index != 0) revert AlreadyCommitted(commitment);
        uint64 index = ++commitmentCount;
        _commitments[commitment] = Commitment({index: index, blockNumber: uint64(block.number)});
        emit ProofCommitted(commitment, index, msg.sender);
    }

    /// @notice The recorded commitment (index 0: none).
    function commitmentInfo(bytes32 commitment) external view returns (Commitment memory) {
        return _commitments[commitment];
    }

    /// @notice The reward claim of `offenceId` (reporter zero: never slashed).
    function claimOf(bytes32 offenceId) external view returns (Claim memory) {
        return _claims[offenceId];
    }

    /// @notice Offence ids whose reward `reporter` holds and has not been paid yet.
    function unpaidClaims(address reporter) external view returns (bytes32[] memory) {
        return _unpaid[reporter].values();
    }

    /// @notice Pays the reward of `offenceId` to the reporter holding its claim, once the claim
    /// window has closed. Anyone may call it; the reward only ever goes to the claim's reporter.
    /// @param offenceId The offence whose reward to pay.
    /// @return amount The reward paid.
    function claimReward(bytes32 offenceId) external nonReentrant returns (uint256 amount) {
        Claim storage claim = _claims[offenceId];
        address reporter = claim.reporter;
        if (reporter == address(0)) revert NoClaim(offenceId);
        if (block.number < claim.claimableFrom) revert ClaimWindowOpen(offenceId, claim.claimableFrom);
        if (claim.paid) revert RewardAlreadyPaid(offenceId);
        claim.paid = true;
        _unpaid[reporter].remove(offenceId);
        amount = claim.reward;
        emit RewardPaid(offenceId, reporter, amount);
        if (amount != 0) stakeToken.safeTransfer(reporter, amount);
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
    /// @param reporter The reporter of the commitment (see {commit}).
    /// @param salt The commitment's salt.
    /// @return amount The stake slashed (0 when this reveal took an earlier one's reward over).
    function slashBatchEquivocation(
        BatchHeader calldata a,
        bytes calldata sigA,
        BatchHeader calldata b,
        bytes calldata sigB,
        address reporter,
        bytes32 salt
    ) external nonReentrant returns (uint256 amount) {
        if (a.batchNumber != b.batchNumber) revert BatchNumbersDiffer(a.batchNumber, b.batchNumber);
        if (a.epoch != b.epoch) revert EpochsDiffer(a.epoch, b.epoch);
        bytes32 hashA = SequencerTypes.hash(a);
        if (hashA == SequencerTypes.hash(b)) revert NotEquivocation();
        address signer = _signerOfBoth(hashA, sigA, SequencerTypes.hash(b), sigB);
        // One offence per signer, batch number and epoch, however many different headers it signed.
        bytes32 id = keccak256(abi.encode(Offence.BatchEquivocation, signer, a.batchNumber, a.epoch));
        return _reveal(id, Offence.BatchEquivocation, signer, reporter, salt);
    }

    /// @notice Proves that one signer signed two certificates putting different transactions at
    /// `position`.
    /// @param position The contested position (inside both certificates' ranges).
    /// @param a First certificate, its signature, and its leaf at `position` with proof.
    /// @param b Second certificate, its signature, and a different leaf at `position` with proof.
    /// @param reporter The reporter of the commitment (see {commit}).
    /// @param salt The commitment's salt.
    /// @return amount The stake slashed (0 when this reveal took an earlier one's reward over).
    function slashCertificateEquivocation(
        uint64 position,
        CertifiedLeaf calldata a,
        CertifiedLeaf calldata b,
        address reporter,
        bytes32 salt
    ) external nonReentrant returns (uint256 amount) {
        if (a.txHash == b.txHash) revert LeavesAgree(a.txHash);
        _checkCertifiedLeaf(0, position, a);
        _checkCertifiedLeaf(1, position, b);

        bytes32 hashA = SequencerTypes.hash(a.certificate);
        bytes32 hashB = SequencerTypes.hash(b.certificate);
        address signer = _signerOfBoth(hashA, a.signature, hashB, b.signature);
        // One offence per pair of conflicting certificates, however many positions they contradict on.
        (bytes32 lo, bytes32 hi) = _ordered(hashA, hashB);
        bytes32 id = keccak256(abi.encode(Offence.CertificateEquivocation, signer, lo, hi));
        return _reveal(id, Offence.CertificateEquivocation, signer, reporter, salt);
    }

    /// @notice Proves that one signer signed a certificate putting a transaction at `position`
    /// and a batch header putting another one there.
    /// @dev The header need not be accepted by the inbox: signing it is the offence. A certificate
    /// contradicted only by a batch other members signed is no proof against its signer (see the
    /// contract notes); a reporter holding such a pair should look for the batch's signers among
    /// the signers of a header covering the position ({slashConflictingBatches}).
    /// @param position The contested position.
    /// @param c The certificate, its signature, and its leaf at `position` with proof.
    /// @param b The header, the same signer's signature of it, and its leaf at `position` with proof.
    /// @param reporter The reporter of the commitment (see {commit}).
    /// @param salt The commitment's salt.
    /// @return amount The stake slashed (0 when this reveal took an earlier one's reward over).
    function slashBrokenCommitment(
        uint64 position,
        CertifiedLeaf calldata c,
        SignedBatchLeaf calldata b,
        address reporter,
        bytes32 salt
    ) external nonReentrant returns (uint256 amount) {
        if (c.txHash == b.txHash) revert LeavesAgree(b.txHash);
        _checkCertifiedLeaf(0, position, c);
        _checkBatchLeaf(1, position, b);
        address signer =
            _signerOfBoth(SequencerTypes.hash(c.certificate), c.signature, SequencerTypes.hash(b.header), b.signature);
        // One offence per signer and contradicting batch, however many certificates it breaks.
        bytes32 id = keccak256(abi.encode(Offence.BrokenOrderCommitment, signer, b.header.batchNumber));
        return _reveal(id, Offence.BrokenOrderCommitment, signer, reporter, salt);
    }

    /// @notice Proves that one signer signed two batch headers putting different transactions at
    /// `position`.
    /// @dev Honest members sign a header only if their own committed log reproduces it, and a
    /// re-cut under a later epoch keeps the content, so two such headers prove a lie. Neither
    /// needs to be accepted by the inbox. Two headers of the same number and epoch are a batch
    /// equivocation and punished under that offence's id (one incident).
    /// @param position The contested position (inside both headers' ranges).
    /// @param a First header, its signature, and its leaf at `position` with proof.
    /// @param b Second header, the same signer's signature, and a different leaf at `position`.
    /// @param reporter The reporter of the commitment (see {commit}).
    /// @param salt The commitment's salt.
    /// @return amount The stake slashed (0 when this reveal took an earlier one's reward over).
    function slashConflictingBatches(
        uint64 position,
        SignedBatchLeaf calldata a,
        SignedBatchLeaf calldata b,
        address reporter,
        bytes32 salt
    ) external nonReentrant returns (uint256 amount) {
        if (a.txHash == b.txHash) revert LeavesAgree(a.txHash);
        _checkBatchLeaf(0, position, a);
        _checkBatchLeaf(1, position, b);
        address signer = _signerOfBoth(SequencerTypes.hash(a.header), a.signature, SequencerTypes.hash(b.header), b.signature);
        uint64 na = a.header.batchNumber;
        uint64 nb = b.header.batchNumber;
        if (na == nb && a.header.epoch == b.header.epoch) {
            bytes32 equivocation = keccak256(abi.encode(Offence.BatchEquivocation, signer, na, a.header.epoch));
            return _reveal(equivocation, Offence.BatchEquivocation, signer, reporter, salt);
        }
        (uint64 lo, uint64 hi) = na < nb ? (na, nb) : (nb, na);
        bytes32 id = keccak256(abi.encode(Offence.ConflictingBatches, signer, lo, hi));
        return _reveal(id, Offence.ConflictingBatches, signer, reporter, salt);
    }

    /// @dev Reverts unless `position` is in the certificate's range and its leaf proof verifies.
    function _checkCertifiedLeaf(uint256 which, uint64 position, CertifiedLeaf calldata item) private pure {
        OrderCommitment calldata cert = item.certificate;
        _checkLeaf(which, position, cert.firstPosition, cert.lastPosition, cert.merkleRoot, item.txHash, item.proof);
    }

    /// @dev Reverts unless `position` is in the header's range and its leaf proof verifies.
    function _checkBatchLeaf(uint256 which, uint64 position, SignedBatchLeaf calldata item) private pure {
        BatchHeader calldata h = item.header;
        _checkLeaf(which, position, h.firstPosition, h.lastPosition, h.merkleRoot, item.txHash, item.proof);
    }

    /// @dev Reverts unless `position` is in [first, last] and `leaf(position, txHash)` is at
    /// index `position - first` under `root`.
    function _checkLeaf(
        uint256 which,
        uint64 position,
        uint64 first,
        uint64 last,
        bytes32 root,
        bytes32 txHash,
        bytes32[] calldata proof
    ) private pure {
        if (position < first || position > last) revert PositionOutOfRange(which, position, first, last);
        bool ok = PositionalMerkle.verify(
            PositionalMerkle.leaf(position, txHash), position - first, uint256(last - first) + 1, proof, root
        );
        if (!ok) revert InvalidProof(which);
    }

    /// @dev The common signer of two signed struct hashes (registry domain).
    function _signerOfBoth(bytes32 hashA, bytes calldata sigA, bytes32 hashB, bytes calldata sigB)
        private
        view
        returns (address)
    {
        bytes32 domainSeparator = registry.domainSeparator();
        address first = SequencerTypes.trySigner(MessageHashUtils.toTypedDataHash(domainSeparator, hashA), sigA);
        address second = SequencerTypes.trySigner(MessageHashUtils.toTypedDataHash(domainSeparator, hashB), sigB);
        if (first == address(0)) revert BadSignature(0);
        if (second == address(0)) revert BadSignature(1);
        if (first != second) revert SignersDiffer(first, second);
        return first;
    }

    function _ordered(bytes32 x, bytes32 y) private pure returns (bytes32, bytes32) {
        return x < y ? (x, y) : (y, x);
    }

    /// @dev The reveal of a verified proof of offence `id`: checks its commitment, then either
    /// slashes (the first reveal: the offence is recorded before `registry.slash` is called, the
    /// reward the registry pays here after it) or moves the reward claim to an earlier committer.
    function _reveal(bytes32 id, Offence offence, address signer, address reporter, bytes32 salt)
        private
        returns (uint256 amount)
    {
        address operator = registry.operatorOfSigner(signer);
        if (operator == address(0)) revert UnknownSigner(signer);
        if (reporter == address(0)) revert ZeroReporter();
        bytes32 commitment = commitmentOf(id, reporter, salt);
        Commitment memory c = _commitments[commitment];
        if (c.index == 0) revert NotCommitted(commitment);
        if (c.blockNumber >= block.number) revert RevealTooEarly(commitment, c.blockNumber);

        Claim storage claim = _claims[id];
        if (isSlashed[id]) {
            if (block.number >= claim.claimableFrom || c.index >= claim.commitmentIndex) revert AlreadySlashed(id);
            address previous = claim.reporter;
            claim.reporter = reporter;
            claim.commitmentIndex = c.index;
            _unpaid[previous].remove(id);
            _unpaid[reporter].add(id);
            emit ReporterReplaced(id, previous, reporter);
            return 0;
        }
        isSlashed[id] = true;
        claim.reporter = reporter;
        claim.commitmentIndex = c.index;
        claim.claimableFrom = uint64(block.number + CLAIM_WINDOW);
        _unpaid[reporter].add(id);
        uint256 reward;
        (amount, reward) = registry.slash(operator, address(this));
        // At most the operator's stake, which the registry caps at 2^96 - 1.
        claim.reward = uint96(reward);
        emit Slashed(id, offence, operator, signer, reporter, amount);
    }
}
