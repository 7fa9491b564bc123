// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Arrays} from "@openzeppelin/contracts/utils/Arrays.sol";
import {ISequencerRegistry} from "./interfaces/ISequencerRegistry.sol";
import {TopKRanking} from "./libraries/TopKRanking.sol";
import {LeaderSchedule} from "./libraries/LeaderSchedule.sol";
import {SequencerTypes} from "./libraries/SequencerTypes.sol";

/// @title SequencerRegistry
/// @notice Staking registry of the sequencer network. Operators stake an ERC-20, bind a
/// signing key and a libp2p identity, and are ranked into a per-epoch active set that is
/// frozen at the epoch's start, together with a stake-weighted leader schedule.
///
/// Epochs and snapshots (see docs/contracts.md): every state-changing function first calls
/// {checkpoint}, which at the first mutation of an epoch records the active set computed
/// from live state (still equal to the state at the epoch's start) and the epoch's seed
/// source: the hash of the block just before the epoch, a block fixed in advance whatever
/// block the checkpoint lands in. An epoch without a checkpoint saw no mutation, so its set is the one of the
/// next checkpoint, or the live set if none followed. The live ranking is kept incrementally
/// in two heaps ({TopKRanking}), so a snapshot costs O(maxActive) and a stake change
/// O(log n), independent of the number of registered operators.
contract SequencerRegistry is ISequencerRegistry, EIP712, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using TopKRanking for TopKRanking.Ranking;

    // ------------------------------------------------------------------ bounds

    /// @notice Upper bound of `maxActive`.
    uint256 public constant MAX_ACTIVE_CAP = 100;
    /// @notice Denominator of every basis-point parameter.
    uint256 public constant BPS = 10_000;
    /// @notice Upper bound of `slashFractionBps` (50%).
    uint256 public constant MAX_SLASH_FRACTION_BPS = 5_000;
    /// @notice Upper bound of `reporterShareBps` (10%): an offender that reports itself (and,
    /// committing first, always can) gets back at most a tenth of what it loses.
    uint256 public constant MAX_REPORTER_SHARE_BPS = 1_000;
    /// @notice Upper bound of `epochLength`, in blocks.
    uint256 public constant MAX_EPOCH_LENGTH = 100_000;
    /// @notice Upper bound of `unbondingPeriod`, in blocks (~46 days at 12 s).
    uint256 public constant MAX_UNBONDING_PERIOD = 330_000;
    /// @notice Lower bound of `minUnbondingEpochs`: an unstaker still signs in the epoch of its
    /// request, and one more full epoch is left to bring evidence.
    uint256 public constant MIN_UNBONDING_EPOCHS = 2;
    /// @notice Longest accepted libp2p peer id, in bytes (Ed25519/secp256k1 ids are 37-39).
    uint256 public constant MAX_PEER_ID_LENGTH = 128;
    /// @notice Longest accepted peer-id proof, in bytes (an Ed25519 signature is 64).
    uint256 public constant MAX_PEER_ID_PROOF_LENGTH = 128;
    /// @notice Most dial addresses an operator may publish.
    uint256 public constant MAX_ADDRS = 8;
    /// @notice Longest accepted dial address, in bytes.
    uint256 public constant MAX_ADDR_LENGTH = 256;
    /// @notice Pending unbonding entries per operator; further requests merge into the last.
    uint256 public constant MAX_UNBONDING_ENTRIES = 16;
    /// @notice Blocks for which a block hash stays readable (EVM `BLOCKHASH`): an epoch's seed
    /// block must be recorded within this many blocks, else the epoch's seed falls back.
    uint256 public constant SEED_WINDOW = 256;

    // ------------------------------------------------------------------ types

    /// @notice Everything the registry holds about an operator (see {operatorInfo}).
    struct OperatorInfo {
        uint32 registrationId;
        bool registered;
        bool jailed;
        bool exiting;
        address signer;
        uint256 activeStake;
        uint256 unbonding;
        uint256 withdrawable;
        bytes peerId;
        bytes peerIdProof;
        string[] addrs;
    }

    /// @notice A pending unstake: `amount` can be withdrawn from block `releaseBlock` on.
    struct UnbondingEntry {
        uint96 amount;
        uint64 releaseBlock;
    }

    /// @notice Deployment parameters that governance may later change within bounds.
    struct Params {
        uint256 minStake;
        uint256 maxActive;
        uint256 unbondingPeriod;
        uint256 slashFractionBps;
        uint256 reporterShareBps;
    }

    struct Operator {
        uint32 registrationId;
        bool registered;
        bool jailed;
        bool exiting;
        uint96 activeStake;
        uint96 unbonding;
        bytes peerId;
        bytes peerIdProof;
        string[] addrs;
    }

    /// @dev One registration of an operator; its signer is frozen with it so that past
    /// snapshots keep naming the signer that was bound at the time.
    struct Registration {
        address operator;
        address signer;
    }

    // ------------------------------------------------------------------ events

    /// @notice An operator registered (or re-registered after a full exit). `peerIdProof` is
    /// the libp2p key's signature of the operator's key binding, which nodes check (see {register}).
    event OperatorRegistered(
        address indexed operator,
        uint32 indexed registrationId,
        address indexed signer,
        uint256 stake,
        bytes peerId,
        bytes peerIdProof,
        string[] addrs
    );
    /// @notice An operator added stake.
    event StakeAdded(address indexed operator, uint256 amount, uint256 activeStake);
    /// @notice Stake moved from active into the unbonding queue.
    event UnstakeRequested(address indexed operator, uint256 amount, uint256 releaseBlock, uint256 activeStake);
    /// @notice Matured unbonding stake was paid out to the operator.
    event Withdrawn(address indexed operator, uint256 amount);
    /// @notice The operator started leaving: all active stake is unbonding.
    event ExitRequested(address indexed operator, uint256 amount, uint256 releaseBlock);
    /// @notice A leaving operator withdrew everything and is no longer registered.
    event OperatorDeregistered(address indexed operator);
    /// @notice The account that posts the operator's batches is now `batcher` (its signer: the default).
    event BatcherSet(address indexed operator, address indexed batcher);
    /// @notice The operator's libp2p peer id, its proof or the dial addresses changed.
    event PeerUpdated(address indexed operator, bytes peerId, bytes peerIdProof, string[] addrs);
    /// @notice Stake was slashed: `toReporter` went to `reporter`, `toTreasury` to the treasury.
    event Slashed(
        address indexed operator,
        address indexed reporter,
        uint256 amount,
        uint256 toReporter,
        uint256 toTreasury
    );
    /// @notice The operator is jailed for good: out of every active set from `fromEpoch` on.
    event OperatorJailed(address indexed operator, uint64 fromEpoch);
    /// @notice An epoch's active set and seed source were recorded (see {epochSeed}).
    event Checkpointed(uint64 indexed epoch, uint64 snapshotId, uint256 setSize, bytes32 seedSource);
    /// @notice Governance changed the minimum stake.
    event MinStakeSet(uint256 minStake);
    /// @notice Governance changed the maximum active set size.
    event MaxActiveSet(uint256 maxActive);
    /// @notice Governance changed the unbonding period (applies to new requests only).
    event UnbondingPeriodSet(uint256 blocks);
    /// @notice Governance changed the slashed fraction of stake.
    event SlashFractionSet(uint256 bps);
    /// @notice Governance changed the reporter's share of slashed stake.
    event ReporterShareSet(uint256 bps);
    /// @notice The slashing contract was set (once).
    event SlasherSet(address slasher);

    // ------------------------------------------------------------------ errors

    /// @notice A zero address was given where one is required.
    error ZeroAddress();
    /// @notice A zero amount was given.
    error ZeroAmount();
    /// @notice `epochLength` is outside [1, MAX_EPOCH_LENGTH].
    error InvalidEpochLength(uint256 epochLength);
    /// @notice The genesis block lies in the future.
    error GenesisInFuture(uint256 genesisBlock, uint256 currentBlock);
    /// @notice A parameter is outside its bounds.
    error ParameterOutOfBounds(bytes32 parameter, uint256 value, uint256 min, uint256 max);
    /// @notice The caller already has a registration.
    error AlreadyRegistered(address operator);
    /// @notice The caller has no registration.
    error NotRegistered(address operator);
    /// @notice The operator is jailed.
    error OperatorIsJailed(address operator);
    /// @notice The operator is leaving.
    error OperatorIsExiting(address operator);
    /// @notice The address never registered.
    error UnknownOperator(address operator);
    /// @notice The stake is below the minimum.
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    /// @notice The resulting stake does not fit 96 bits.
    error StakeTooLarge(uint256 stake);
    /// @notice The unstake amount exceeds the active stake.
    error InsufficientStake(uint256 requested, uint256 active);
    /// @notice The signer must be a key other than the operator's account.
    error SignerIsOperator();
    /// @notice The signer is (or was) bound to another operator, as its signer or its batcher.
    error SignerTaken(address signer, address boundTo);
    /// @notice `signerProof` is not `signer`'s EIP-712 signature of KeyBinding(caller).
    error InvalidSignerProof(address signer);
    /// @notice The account is already the batcher, or the signer, of another operator.
    error BatcherTaken(address batcher, address boundTo);
    /// @notice `batcherProof` is not `batcher`'s EIP-712 signature of BatcherBinding(caller).
    error InvalidBatcherProof(address batcher);
    /// @notice The peer id is empty or longer than MAX_PEER_ID_LENGTH.
    error InvalidPeerId(uint256 length);
    /// @notice The peer-id proof is empty or longer than MAX_PEER_ID_PROOF_LENGTH.
    error InvalidPeerIdProof(uint256 length);
    /// @notice There are no dial addresses, or more than MAX_ADDRS.
    error InvalidAddrCount(uint256 count);
    /// @notice Dial address `index` is empty or longer than MAX_ADDR_LENGTH.
    error InvalidAddr(uint256 index);
    /// @notice No unbonding entry has matured.
    error NothingToWithdraw();
    /// @notice The token delivered a different amount than requested (fee-on-transfer tokens
    /// are not supported: accounting must match the balance exactly).
    error TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice Only the slashing contract may call this.
    error NotSlasher(address caller);
    /// @notice The slashing contract is already set.
    error SlasherAlreadySet(address slasher);
    /// @notice The epoch's set is not determined yet (only up to currentEpoch() + 1).
    error EpochNotDetermined(uint64 epoch, uint64 latest);

    // ------------------------------------------------------------------ state

    /// @inheritdoc ISequencerRegistry
    IERC20 public immutable stakeToken;
    /// @notice Receives the non-reporter part of slashed stake (may be a burn address).
    address public immutable treasury;
    /// @notice First block of epoch 0.
    uint256 public immutable genesisBlock;
    /// @notice Blocks per epoch.
    uint256 public immutable epochLength;
    /// @inheritdoc ISequencerRegistry
    uint256 public immutable minUnbondingEpochs;

    /// @notice The slashing contract, the only caller of {slash}.
    address public slasher;
    /// @notice Minimum active stake to be in an active set.
    uint256 public minStake;
    /// @notice Maximum active set size.
    uint256 public maxActive;
    /// @notice Blocks between an unstake request and its withdrawal.
    uint256 public unbondingPeriod;
    /// @notice Fraction of active + unbonding stake taken by a slash, in basis points.
    uint256 public slashFractionBps;
    /// @notice Reporter's share of the slashed amount, in basis points.
    uint256 public reporterShareBps;

    /// @notice Sum of all operators' active stake.
    uint256 public totalActiveStake;
    /// @notice Sum of all operators' unbonding stake (matured or not, until withdrawn).
    uint256 public totalUnbonding;
    /// @notice Number of registrations so far (registration ids are 1..registrationCount).
    uint32 public registrationCount;

    /// @inheritdoc ISequencerRegistry
    mapping(address signer => address operator) public operatorOfSigner;

    mapping(address operator => Operator) private _operators;
    /// @dev Batchers set with {setBatcher}; an operator without one posts with its signer.
    mapping(address operator => address batcher) private _batchers;
    /// @dev The reverse of `_batchers` (entries are removed when an operator changes its batcher).
    mapping(address batcher => address operator) private _batcherOperators;
    mapping(address operator => UnbondingEntry[]) private _unbondingEntries;
    mapping(uint32 registrationId => Registration) private _registrations;

    TopKRanking.Ranking private _ranking;
    /// @dev The top set or a filtering parameter changed since the latest snapshot.
    bool private _rankingDirty;

    /// @dev Checkpoints in epoch order, each `epoch << 64 | snapshotId`, so that a binary
    /// search over the raw words finds epochs.
    uint256[] private _checkpoints;
    /// @dev The seed source recorded by each checkpoint (see {epochSeed}).
    mapping(uint64 epoch => bytes32) private _seedSource;
    /// @dev `snapshotId << 64 | wordIndex` => two 128-bit active-set keys, largest first (a
    /// mapping rather than an array: no length word to rewrite on every push).
    mapping(uint256 wordKey => uint256) private _snapshotWords;
    mapping(uint64 snapshotId => uint256) private _snapshotSize;
    uint64 private _snapshotCount;

    // ------------------------------------------------------------------ construction

    /// @param token The staked ERC-20 (standard transfer semantics).
    /// @param treasury_ Receiver of slashed stake net of reporter rewards.
    /// @param genesisBlock_ First block of epoch 0 (0 = the deployment block); not in the future.
    /// @param epochLength_ Blocks per epoch, in [1, MAX_EPOCH_LENGTH].
    /// @param minUnbondingEpochs_ Governance floor of `unbondingPeriod`, in epochs: at least
    /// MIN_UNBONDING_EPOCHS, and what the batch inbox's epoch lag needs (`maxEpochLag + 2`).
    /// @param params Initial governance parameters (checked against their bounds).
    /// @param initialOwner Governance account (two-step ownership transfer).
    constructor(
        IERC20 token,
        address treasury_,
        uint256 genesisBlock_,
        uint256 epochLength_,
        uint256 minUnbondingEpochs_,
        Params memory params,
        address initialOwner
    ) EIP712("StakedSequencer", "1") Ownable(initialOwner) {
        if (address(token) == address(0) || treasury_ == address(0)) revert ZeroAddress();
        if (epochLength_ == 0 || epochLength_ > MAX_EPOCH_LENGTH) revert InvalidEpochLength(epochLength_);
        uint256 maxUnbondingEpochs = MAX_UNBONDING_PERIOD / epochLength_;
        if (minUnbondingEpochs_ < MIN_UNBONDING_EPOCHS || minUnbondingEpochs_ > maxUnbondingEpochs) {
            revert ParameterOutOfBounds("minUnbondingEpochs", minUnbondingEpochs_, MIN_UNBONDING_EPOCHS, maxUnbondingEpochs);
        }
        uint256 genesis = genesisBlock_ == 0 ? block.number : genesisBlock_;
        if (genesis > block.number) revert GenesisInFuture(genesis, block.number);
        stakeToken = token;
        treasury = treasury_;
        genesisBlock = genesis;
        epochLength = epochLength_;
        minUnbondingEpochs = minUnbondingEpochs_;
        _setMinStake(params.minStake);
        _setMaxActive(params.maxActive);
        _setUnbondingPeriod(params.unbondingPeriod);
        _setSlashFraction(params.slashFractionBps);
        _setReporterShare(params.reporterShareBps);
        // The deployment checkpoint fixes the seed source of every epoch up to this one.
        _checkpoint();
    }

    // ------------------------------------------------------------------ modifiers

    modifier onlySlasher() {
        // msg.sender is never address(0), so an unset slasher matches nobody.
        if (msg.sender != slasher) revert NotSlasher(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ operators

    /// @notice Registers the caller as an operator and stakes `stake` tokens (pulled with
    /// transferFrom: approve first). The caller joins the active set from the next epoch if
    /// its stake ranks within `maxActive`.
    /// @dev Both keys prove possession by signing the key binding `KeyBinding(operator)` under
    /// this registry's EIP-712 domain (chain id and address): a front-runner copying the call
    /// cannot bind keys it does not hold, and a copied proof names the victim, not the copier.
    /// The signer proof is checked here and binds the signer for good. The peer-id proof (an
    /// Ed25519 signature, too costly to verify on chain) is stored and checked by the nodes, which
    /// trust a peer id only for the member whose proof verifies; the peer id itself is not
    /// exclusive on chain, so claiming someone else's binds nothing (docs/contracts.md).
    /// @param stake Initial stake, at least `minStake`.
    /// @param signer Signing address for certificates and batches; not the caller, not zero,
    /// and never bound to another operator.
    /// @param signerProof `signer`'s 65-byte EIP-712 signature of KeyBinding(caller).
    /// @param peerId Binary libp2p peer id (1..MAX_PEER_ID_LENGTH bytes).
    /// @param peerIdProof The libp2p key's signature of the KeyBinding(caller) digest
    /// (1..MAX_PEER_ID_PROOF_LENGTH bytes).
    /// @param addrs Dial multiaddrs (1..MAX_ADDRS strings of 1..MAX_ADDR_LENGTH bytes).
    /// @return registrationId The id of this registration (registration order, tie-breaker).
    function register(
        uint256 stake,
        address signer,
        bytes calldata signerProof,
        bytes calldata peerId,
        bytes calldata peerIdProof,
        string[] calldata addrs
    ) external nonReentrant returns (uint32 registrationId) {
        _checkpoint();
        _checkRegistration(stake, signer, signerProof);
        _checkPeer(peerId, peerIdProof, addrs);
        registrationId = _enroll(stake, signer);
        _storePeer(_operators[msg.sender], peerId, peerIdProof, addrs);
        emit OperatorRegistered(msg.sender, registrationId, signer, stake, peerId, peerIdProof, addrs);

        _pull(stake);
    }

    /// @notice Adds `amount` to the caller's active stake (effective from the next epoch).
    /// @param amount Tokens to pull from the caller (approve first), non-zero.
    function topUp(uint256 amount) external nonReentrant {
        _checkpoint();
        Operator storage op = _registeredOperator(msg.sender);
        if (op.jailed) revert OperatorIsJailed(msg.sender);
        if (op.exiting) revert OperatorIsExiting(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 newStake = uint256(op.activeStake) + amount;
        if (newStake > type(uint96).max) revert StakeTooLarge(newStake);

        bool wasRanked = op.activeStake != 0;
        op.activeStake = uint96(newStake);
        totalActiveStake += amount;
        uint256 key = TopKRanking.keyOf(op.registrationId, newStake);
        _markDirty(wasRanked ? _ranking.update(key) : _ranking.insert(key, maxActive));
        emit StakeAdded(msg.sender, amount, newStake);

        _pull(amount);
    }

    /// @notice Moves `amount` of the caller's active stake into the unbonding queue. It stays
    /// slashable until withdrawn, stops counting for active sets from the next epoch, and can
    /// be withdrawn `unbondingPeriod` blocks from now.
    /// @param amount Non-zero, at most the active stake. Staying below `minStake` is allowed
    /// (the operator then drops out of active sets).
    function requestUnstake(uint256 amount) external {
        _checkpoint();
        Operator storage op = _registeredOperator(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (amount > op.activeStake) revert InsufficientStake(amount, op.activeStake);
        uint256 releaseBlock = _unbond(msg.sender, op, amount);
        emit UnstakeRequested(msg.sender, amount, releaseBlock, op.activeStake);
    }

    /// @notice Starts leaving: all active stake goes into the unbonding queue and the caller
    /// leaves active sets from the next epoch. Once everything is withdrawn the registration
    /// ends; the signer and peer id stay bound to the caller forever.
    function exit() external {
        _checkpoint();
        Operator storage op = _registeredOperator(msg.sender);
        if (op.exiting) revert OperatorIsExiting(msg.sender);
        op.exiting = true;
        uint256 amount = op.activeStake;
        uint256 releaseBlock = amount == 0 ? block.number : _unbond(msg.sender, op, amount);
        emit ExitRequested(msg.sender, amount, releaseBlock);
        if (_unbondingEntries[msg.sender].length == 0) _deregister(msg.sender, op);
    }

    /// @notice Pays out every matured unbonding entry of the caller. Completes an exit once
    /// nothing is left.
    /// @return amount Tokens transferred to the caller.
    function withdraw() external nonReentrant returns (uint256 amount) {
        _checkpoint();
        Operator storage op = _registeredOperator(msg.sender);
        UnbondingEntry[] storage entries = _unbondingEntries[msg.sender];
        uint256 kept;
        uint256 n = entries.length;
        for (uint256 i; i < n; ++i) {
            UnbondingEntry memory e = entries[i];
            if (e.releaseBlock <= block.number) {
                amount += e.amount;
            } else {
                if (kept != i) entries[kept] = e;
                ++kept;
            }
        }
        if (kept == n) revert NothingToWithdraw();
        for (uint256 i = n; i > kept; --i) entries.pop();
        op.unbonding -= uint96(amount);
        totalUnbonding -= amount;
        emit Withdrawn(msg.sender, amount);
        if (op.exiting && kept == 0) _deregister(msg.sender, op);

        if (amount != 0) stakeToken.safeTransfer(msg.sender, amount);
    }

    /// @notice Replaces the caller's libp2p peer id, its proof and the dial addresses (live
    /// contact data: readers see the change at once, it is not frozen per epoch).
    /// @param peerId New binary peer id.
    /// @param peerIdProof The new libp2p key's signature of the KeyBinding(caller) digest (see {register}).
    /// @param addrs New dial multiaddrs.
    function updatePeer(bytes calldata peerId, bytes calldata peerIdProof, string[] calldata addrs) external {
        _checkpoint();
        Operator storage op = _registeredOperator(msg.sender);
        _checkPeer(peerId, peerIdProof, addrs);
        _storePeer(op, peerId, peerIdProof, addrs);
        emit PeerUpdated(msg.sender, peerId, peerIdProof, addrs);
    }

    /// @notice Makes `batcher` the account that posts the caller's batches to the inbox (it pays
    /// the gas; the inbox accepts a new batch only from a batcher of a member of the header's
    /// epoch). Passing the caller's current signer restores the default: no proof needed.
    /// @dev Any other account must prove that it agrees with its EIP-712 signature of
    /// BatcherBinding(caller), so nobody can claim another's account and block it from
    /// becoming a batcher; an account is the batcher of one operator at a time and cannot be
    /// another operator's signer. Live data, not frozen per epoch: it applies to the next post.
    /// @param batcher The new batcher: an account with a key and without code (no EIP-7702
    /// delegation either: the inbox refuses calls from accounts with code, `NotDirectCall`).
    /// @param batcherProof `batcher`'s 65-byte EIP-712 signature of BatcherBinding(caller)
    /// (ignored, may be empty, when `batcher` is the caller's signer).
    function setBatcher(address batcher, bytes calldata batcherProof) external {
        _checkpoint();
        Operator storage op = _registeredOperator(msg.sender);
        if (batcher == address(0)) revert ZeroAddress();
        address signer = _registrations[op.registrationId].signer;
        if (batcher != signer) {
            address owner = _batcherOperators[batcher];
            if (owner == address(0)) owner = operatorOfSigner[batcher];
            if (owner != address(0) && owner != msg.sender) revert BatcherTaken(batcher, owner);
            if (SequencerTypes.trySigner(batcherBindingDigest(msg.sender), batcherProof) != batcher) {
                revert InvalidBatcherProof(batcher);
            }
        }
        address previous = _batchers[msg.sender];
        if (previous != address(0)) delete _batcherOperators[previous];
        if (batcher == signer) {
            delete _batchers[msg.sender];
        } else {
            _batchers[msg.sender] = batcher;
            _batcherOperators[batcher] = msg.sender;
        }
        emit BatcherSet(msg.sender, batcher);
    }

    // ------------------------------------------------------------------ slashing

    /// @inheritdoc ISequencerRegistry
    /// @dev Takes `slashFractionBps` of the active stake and of every unbonding entry
    /// (matured or not), pays `reporterShareBps` of it to `reporter` and the rest to the
    /// treasury, and jails the operator for good. The current epoch's frozen set is unchanged.
    function slash(address operator, address reporter)
        external
        onlySlasher
        nonReentrant
        returns (uint256 slashed, uint256 toReporter)
    {
        uint64 epoch = _checkpoint();
        if (reporter == address(0)) revert ZeroAddress();
        Operator storage op = _operators[operator];
        if (op.registrationId == 0) revert UnknownOperator(operator);
        uint256 bps = slashFractionBps;

        uint256 activeCut = (uint256(op.activeStake) * bps) / BPS;
        if (activeCut != 0) {
            op.activeStake -= uint96(activeCut);
            totalActiveStake -= activeCut;
        }
        UnbondingEntry[] storage entries = _unbondingEntries[operator];
        uint256 unbondingCut;
        for (uint256 i; i < entries.length; ++i) {
            uint256 cut = (uint256(entries[i].amount) * bps) / BPS;
            entries[i].amount -= uint96(cut);
            unbondingCut += cut;
        }
        if (unbondingCut != 0) {
            op.unbonding -= uint96(unbondingCut);
            totalUnbonding -= unbondingCut;
        }
        slashed = activeCut + unbondingCut;

        if (!op.jailed) {
            op.jailed = true;
            if (_ranking.contains(op.registrationId)) _markDirty(_ranking.remove(op.registrationId));
            emit OperatorJailed(operator, epoch + 1);
        }
        toReporter = (slashed * reporterShareBps) / BPS;
        uint256 toTreasury = slashed - toReporter;
        emit Slashed(operator, reporter, slashed, toReporter, toTreasury);

        if (toReporter != 0) stakeToken.safeTransfer(reporter, toReporter);
        if (toTreasury != 0) stakeToken.safeTransfer(treasury, toTreasury);
    }

    // ------------------------------------------------------------------ epochs

    /// @inheritdoc ISequencerRegistry
    function checkpoint() external returns (uint64 epoch) {
        return _checkpoint();
    }

    /// @inheritdoc ISequencerRegistry
    function currentEpoch() public view returns (uint64) {
        return uint64((block.number - genesisBlock) / epochLength);
    }

    /// @inheritdoc ISequencerRegistry
    function epochStartBlock(uint64 epoch) public view returns (uint256) {
        return genesisBlock + uint256(epoch) * epochLength;
    }

    /// @inheritdoc ISequencerRegistry
    function activeSet(uint64 epoch) external view returns (Member[] memory members) {
        uint256[] memory keys = _setKeys(epoch);
        members = new Member[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            Registration memory reg = _registrations[TopKRanking.idOf(keys[i])];
            Operator storage op = _operators[reg.operator];
            members[i] = Member({
                operator: reg.operator,
                signer: reg.signer,
                peerId: op.peerId,
                peerIdProof: op.peerIdProof,
                addrs: op.addrs,
                stake: TopKRanking.stakeOf(keys[i])
            });
        }
    }

    /// @inheritdoc ISequencerRegistry
    function activeSigners(uint64 epoch) external view returns (address[] memory signers) {
        (signers,) = _setAccounts(epoch, false);
    }

    /// @inheritdoc ISequencerRegistry
    function activeSignerStakes(uint64 epoch) external view returns (address[] memory signers, uint256[] memory stakes) {
        return _setAccounts(epoch, false);
    }

    /// @notice Operators of `epoch`'s active set with their frozen stakes, in active-set order.
    function activeStakes(uint64 epoch) external view returns (address[] memory operators, uint256[] memory stakes) {
        return _setAccounts(epoch, true);
    }

    /// @dev `epoch`'s active set in active-set order: each member's operator (or signer) and frozen stake.
    function _setAccounts(uint64 epoch, bool operators) private view returns (address[] memory accounts, uint256[] memory stakes) {
        uint256[] memory keys = _setKeys(epoch);
        accounts = new address[](keys.length);
        stakes = new uint256[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            Registration storage reg = _registrations[TopKRanking.idOf(keys[i])];
            accounts[i] = operators ? reg.operator : reg.signer;
            stakes[i] = TopKRanking.stakeOf(keys[i]);
        }
    }

    /// @inheritdoc ISequencerRegistry
    function leaderSchedule(uint64 epoch) external view returns (address[] memory schedule) {
        uint256[] memory keys = _setKeys(epoch);
        uint256[] memory stakes = new uint256[](keys.length);
        for (uint256 i; i < keys.length; ++i) stakes[i] = TopKRanking.stakeOf(keys[i]);
        uint256[] memory order = LeaderSchedule.weightedOrder(epochSeed(epoch), stakes);
        schedule = new address[](keys.length);
        for (uint256 i; i < order.length; ++i) {
            schedule[i] = _registrations[TopKRanking.idOf(keys[order[i]])].operator;
        }
    }

    /// @notice Seed of `epoch`'s leader schedule: keccak256(abi.encode(S, epoch)). S is the
    /// hash of block `epochStartBlock(epoch) - 1`, the last block before the epoch, in which its
    /// set is frozen too: nobody acting in an earlier block can know it, and when the first
    /// registry mutation of the epoch lands does not change it. The epoch's first checkpoint
    /// records it (readable for SEED_WINDOW blocks); if that checkpoint comes later, or never,
    /// S falls back to the source of the latest checkpoint before the epoch (deterministic).
    /// Epochs up to the deployment use the deployment's source (the hash of the block before
    /// it). For `currentEpoch() + 1` the seed block is not mined yet: the fallback, tentative.
    function epochSeed(uint64 epoch) public view returns (bytes32) {
        _requireDetermined(epoch);
        uint256 i = _firstCheckpointFrom(epoch);
        bytes32 source;
        if (i < _checkpoints.length && uint64(_checkpoints[i] >> 64) == epoch) source = _seedSource[epoch];
        else if (i == 0) source = _seedSource[uint64(_checkpoints[0] >> 64)];
        else source = _seedSourceFor(epoch, _seedSource[uint64(_checkpoints[i - 1] >> 64)]);
        return keccak256(abi.encode(source, epoch));
    }

    /// @notice Number of checkpoints taken so far.
    function checkpointCount() external view returns (uint256) {
        return _checkpoints.length;
    }

    /// @notice The `index`-th checkpoint: its epoch, snapshot id and recorded seed source.
    function checkpointAt(uint256 index) external view returns (uint64 epoch, uint64 snapshotId, bytes32 seedSource) {
        uint256 word = _checkpoints[index];
        epoch = uint64(word >> 64);
        snapshotId = uint64(word);
        seedSource = _seedSource[epoch];
    }

    /// @notice Whether `epoch` has its own checkpoint (was mutated, or is the deployment epoch).
    function hasCheckpoint(uint64 epoch) external view returns (bool) {
        uint256 i = _firstCheckpointFrom(epoch);
        return i < _checkpoints.length && uint64(_checkpoints[i] >> 64) == epoch;
    }

    // ------------------------------------------------------------------ other views

    /// @inheritdoc ISequencerRegistry
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Everything about `operator` (zeroed if it never registered).
    function operatorInfo(address operator) external view returns (OperatorInfo memory info) {
        Operator storage op = _operators[operator];
        info.registrationId = op.registrationId;
        info.registered = op.registered;
        info.jailed = op.jailed;
        info.exiting = op.exiting;
        info.signer = _registrations[op.registrationId].signer;
        info.activeStake = op.activeStake;
        info.unbonding = op.unbonding;
        info.withdrawable = withdrawable(operator);
        info.peerId = op.peerId;
        info.peerIdProof = op.peerIdProof;
        info.addrs = op.addrs;
    }

    /// @notice Pending unbonding entries of `operator`.
    function unbondingEntries(address operator) external view returns (UnbondingEntry[] memory) {
        return _unbondingEntries[operator];
    }

    /// @notice Unbonding stake of `operator` that has matured and can be withdrawn now.
    function withdrawable(address operator) public view returns (uint256 amount) {
        UnbondingEntry[] storage entries = _unbondingEntries[operator];
        for (uint256 i; i < entries.length; ++i) {
            if (entries[i].releaseBlock <= block.number) amount += entries[i].amount;
        }
    }

    /// @notice The EIP-712 digest both of an operator's keys sign to prove possession:
    /// KeyBinding(operator) under this registry's domain (see {register}).
    function keyBindingDigest(address operator) public view returns (bytes32) {
        return _hashTypedDataV4(SequencerTypes.hashKeyBinding(operator));
    }

    /// @notice The EIP-712 digest an account signs to become `operator`'s batcher:
    /// BatcherBinding(operator) under this registry's domain (see {setBatcher}).
    function batcherBindingDigest(address operator) public view returns (bytes32) {
        return _hashTypedDataV4(SequencerTypes.hashBatcherBinding(operator));
    }

    /// @inheritdoc ISequencerRegistry
    function batcherOf(address operator) external view returns (address) {
        address batcher = _batchers[operator];
        return batcher != address(0) ? batcher : _registrations[_operators[operator].registrationId].signer;
    }

    /// @inheritdoc ISequencerRegistry
    /// @dev The default first (two storage reads: the inbox pays them on every batch): a signer
    /// whose operator set no batcher posts for its own registrations, so it is its own answer.
    /// An account set with {setBatcher} posts for its operator's current registration.
    function signerOfBatcher(address account) external view returns (address) {
        address operator = operatorOfSigner[account];
        if (operator != address(0) && _batchers[operator] == address(0)) return account;
        operator = _batcherOperators[account];
        if (operator == address(0)) return address(0);
        return _registrations[_operators[operator].registrationId].signer;
    }

    /// @notice Operator and signer of registration `registrationId`.
    function registration(uint32 registrationId) external view returns (address operator, address signer) {
        Registration memory reg = _registrations[registrationId];
        return (reg.operator, reg.signer);
    }

    /// @notice Number of operators currently ranked (registered, unjailed, non-zero stake).
    function rankedCount() external view returns (uint256) {
        return _ranking.size();
    }

    // ------------------------------------------------------------------ governance

    /// @notice Sets the minimum active stake, in [1, 2^96 - 1]. Effective from the next epoch.
    function setMinStake(uint256 value) external onlyOwner {
        _checkpoint();
        _setMinStake(value);
        _rankingDirty = true;
    }

    /// @notice Sets the maximum active set size, in [1, MAX_ACTIVE_CAP]. Effective from the
    /// next epoch.
    function setMaxActive(uint256 value) external onlyOwner {
        _checkpoint();
        _setMaxActive(value);
        _rankingDirty = true;
    }

    /// @notice Sets the unbonding period in blocks, in [minUnbondingEpochs * epochLength,
    /// MAX_UNBONDING_PERIOD]: stake stays slashable as long as signatures of its last signing
    /// epoch are usable (the inbox's lag) plus one full epoch to report. Applies to new requests only.
    function setUnbondingPeriod(uint256 value) external onlyOwner {
        _checkpoint();
        _setUnbondingPeriod(value);
    }

    /// @notice Sets the slashed fraction of stake, in [0, MAX_SLASH_FRACTION_BPS] basis points.
    function setSlashFractionBps(uint256 value) external onlyOwner {
        _checkpoint();
        _setSlashFraction(value);
    }

    /// @notice Sets the reporter's share of slashed stake, in [0, MAX_REPORTER_SHARE_BPS] basis
    /// points: an operator reporting its own offence always loses at least 90% of the slash.
    function setReporterShareBps(uint256 value) external onlyOwner {
        _checkpoint();
        _setReporterShare(value);
    }

    /// @notice Sets the slashing contract, the only caller of {slash}. Once.
    function setSlasher(address slasher_) external onlyOwner {
        _checkpoint();
        if (slasher_ == address(0)) revert ZeroAddress();
        if (slasher != address(0)) revert SlasherAlreadySet(slasher);
        slasher = slasher_;
        emit SlasherSet(slasher_);
    }

    // ------------------------------------------------------------------ internals

    function _checkpoint() internal returns (uint64 epoch) {
        epoch = currentEpoch();
        uint256 n = _checkpoints.length;
        if (n != 0 && uint64(_checkpoints[n - 1] >> 64) == epoch) return epoch;

        uint64 snapshotId = _snapshotCount;
        if (_rankingDirty || snapshotId == 0) {
            snapshotId = ++_snapshotCount;
            uint256[] memory keys = _liveKeys();
            uint256 base = uint256(snapshotId) << 64;
            for (uint256 i; i < keys.length; i += 2) {
                uint256 low = i + 1 < keys.length ? keys[i + 1] : 0;
                _snapshotWords[base | (i / 2)] = (keys[i] << 128) | low;
            }
            _snapshotSize[snapshotId] = keys.length;
            _rankingDirty = false;
        }
        // The deployment's source is the block before it; later ones are fixed by their epoch.
        bytes32 source = n == 0
            ? blockhash(block.number - 1)
            : _seedSourceFor(epoch, _seedSource[uint64(_checkpoints[n - 1] >> 64)]);
        _checkpoints.push((uint256(epoch) << 64) | snapshotId);
        _seedSource[epoch] = source;
        emit Checkpointed(epoch, snapshotId, _snapshotSize[snapshotId], source);
    }

    /// @dev `epoch`'s seed source as a checkpoint taken now records it: the hash of the block
    /// before the epoch while it is readable, else `otherwise` (the fallback).
    function _seedSourceFor(uint64 epoch, bytes32 otherwise) private view returns (bytes32) {
        uint256 seedBlock = epochStartBlock(epoch) - 1;
        if (block.number > seedBlock && block.number - seedBlock <= SEED_WINDOW) return blockhash(seedBlock);
        return otherwise;
    }

    /// @dev The active set as live state defines it: the ranked top with stake >= minStake,
    /// largest key first. Everything outside `top` ranks below all of it, so filtering `top`
    /// alone is exact.
    function _liveKeys() private view returns (uint256[] memory keys) {
        keys = _ranking.sortedTop();
        uint256 threshold = minStake << 32;
        uint256 n = keys.length;
        while (n != 0 && keys[n - 1] < threshold) --n;
        assembly ("memory-safe") {
            mstore(keys, n)
        }
    }

    function _setKeys(uint64 epoch) private view returns (uint256[] memory keys) {
        _requireDetermined(epoch);
        uint256 i = _firstCheckpointFrom(epoch);
        if (i == _checkpoints.length) return _liveKeys();
        uint64 snapshotId = uint64(_checkpoints[i]);
        uint256 size_ = _snapshotSize[snapshotId];
        uint256 base = uint256(snapshotId) << 64;
        keys = new uint256[](size_);
        for (uint256 j; j < size_; ++j) {
            uint256 word = _snapshotWords[base | (j / 2)];
            keys[j] = j % 2 == 0 ? word >> 128 : uint128(word);
        }
    }

    /// @dev Index of the first checkpoint at an epoch >= `epoch` (`_checkpoints.length` if none):
    /// words are `epoch << 64 | snapshotId`, so a lower bound on `epoch << 64` finds it.
    function _firstCheckpointFrom(uint64 epoch) private view returns (uint256) {
        return Arrays.lowerBound(_checkpoints, uint256(epoch) << 64);
    }

    function _requireDetermined(uint64 epoch) private view {
        uint64 latest = currentEpoch() + 1;
        if (epoch > latest) revert EpochNotDetermined(epoch, latest);
    }

    function _markDirty(bool topChanged) private {
        if (topChanged) _rankingDirty = true;
    }

    function _registeredOperator(address operator) private view returns (Operator storage op) {
        op = _operators[operator];
        if (!op.registered) revert NotRegistered(operator);
    }

    /// @dev Moves `amount` from active to a new unbonding entry (or into the last one when the
    /// queue is full, which only delays the operator's own funds). Returns the release block.
    function _unbond(address operator, Operator storage op, uint256 amount) private returns (uint256 releaseBlock) {
        uint256 newStake = op.activeStake - amount;
        op.activeStake = uint96(newStake);
        op.unbonding += uint96(amount);
        totalActiveStake -= amount;
        totalUnbonding += amount;
        releaseBlock = block.number + unbondingPeriod;
        UnbondingEntry[] storage entries = _unbondingEntries[operator];
        if (entries.length < MAX_UNBONDING_ENTRIES) {
            entries.push(UnbondingEntry({amount: uint96(amount), releaseBlock: uint64(releaseBlock)}));
        } else {
            UnbondingEntry storage last = entries[entries.length - 1];
            last.amount += uint96(amount);
            if (last.releaseBlock < releaseBlock) last.releaseBlock = uint64(releaseBlock);
            else releaseBlock = last.releaseBlock;
        }
        // Jailed operators are no longer ranked.
        if (op.jailed) return releaseBlock;
        uint32 id = op.registrationId;
        _markDirty(newStake == 0 ? _ranking.remove(id) : _ranking.update(TopKRanking.keyOf(id, newStake)));
    }

    /// @dev The checks of {register} on the caller, its stake and its signer.
    function _checkRegistration(uint256 stake, address signer, bytes calldata signerProof) private view {
        Operator storage op = _operators[msg.sender];
        if (op.registered) revert AlreadyRegistered(msg.sender);
        if (op.jailed) revert OperatorIsJailed(msg.sender);
        if (stake < minStake) revert StakeBelowMinimum(stake, minStake);
        if (stake > type(uint96).max) revert StakeTooLarge(stake);
        if (signer == address(0)) revert ZeroAddress();
        if (signer == msg.sender) revert SignerIsOperator();
        address signerOwner = operatorOfSigner[signer];
        if (signerOwner == address(0)) signerOwner = _batcherOperators[signer];
        if (signerOwner != address(0) && signerOwner != msg.sender) revert SignerTaken(signer, signerOwner);
        if (SequencerTypes.trySigner(keyBindingDigest(msg.sender), signerProof) != signer) revert InvalidSignerProof(signer);
    }

    /// @dev Records a new registration of the caller with `stake` and binds `signer` to it.
    function _enroll(uint256 stake, address signer) private returns (uint32 registrationId) {
        Operator storage op = _operators[msg.sender];
        registrationId = ++registrationCount;
        _registrations[registrationId] = Registration({operator: msg.sender, signer: signer});
        operatorOfSigner[signer] = msg.sender;
        op.registrationId = registrationId;
        op.registered = true;
        op.activeStake = uint96(stake);
        totalActiveStake += stake;
        _markDirty(_ranking.insert(TopKRanking.keyOf(registrationId, stake), maxActive));
    }

    function _deregister(address operator, Operator storage op) private {
        op.registered = false;
        op.exiting = false;
        emit OperatorDeregistered(operator);
    }

    function _checkPeer(bytes calldata peerId, bytes calldata peerIdProof, string[] calldata addrs) private pure {
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_LENGTH) revert InvalidPeerId(peerId.length);
        if (peerIdProof.length == 0 || peerIdProof.length > MAX_PEER_ID_PROOF_LENGTH) {
            revert InvalidPeerIdProof(peerIdProof.length);
        }
        if (addrs.length == 0 || addrs.length > MAX_ADDRS) revert InvalidAddrCount(addrs.length);
        for (uint256 i; i < addrs.length; ++i) {
            uint256 len = bytes(addrs[i]).length;
            if (len == 0 || len > MAX_ADDR_LENGTH) revert InvalidAddr(i);
        }
    }

    function _storePeer(Operator storage op, bytes calldata peerId, bytes calldata peerIdProof, string[] calldata addrs)
        private
    {
        op.peerId = peerId;
        op.peerIdProof = peerIdProof;
        delete op.addrs;
        for (uint256 i; i < addrs.length; ++i) op.addrs.push(addrs[i]);
    }

    /// @dev Pulls `amount` from the caller and insists the balance grew by exactly that.
    function _pull(uint256 amount) private {
        uint256 before = stakeToken.balanceOf(address(this));
        stakeToken.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = stakeToken.balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
    }

    function _setMinStake(uint256 value) private {
        if (value == 0 || value > type(uint96).max) revert ParameterOutOfBounds("minStake", value, 1, type(uint96).max);
        minStake = value;
        emit MinStakeSet(value);
    }

    function _setMaxActive(uint256 value) private {
        if (value == 0 || value > MAX_ACTIVE_CAP) revert ParameterOutOfBounds("maxActive", value, 1, MAX_ACTIVE_CAP);
        maxActive = value;
        _ranking.setCapacity(value);
        emit MaxActiveSet(value);
    }

    function _setUnbondingPeriod(uint256 value) private {
        uint256 floor = minUnbondingEpochs * epochLength;
        if (value < floor || value > MAX_UNBONDING_PERIOD) {
            revert ParameterOutOfBounds("unbondingPeriod", value, floor, MAX_UNBONDING_PERIOD);
        }
        unbondingPeriod = value;
        emit UnbondingPeriodSet(value);
    }

    function _setSlashFraction(uint256 value) private {
        if (value > MAX_SLASH_FRACTION_BPS) revert ParameterOutOfBounds("slashFractionBps", value, 0, MAX_SLASH_FRACTION_BPS);
        slashFractionBps = value;
        emit SlashFractionSet(value);
    }

    function _setReporterShare(uint256 value) private {
        if (value > MAX_REPORTER_SHARE_BPS) revert ParameterOutOfBounds("reporterShareBps", value, 0, MAX_REPORTER_SHARE_BPS);
        reporterShareBps = value;
        emit ReporterShareSet(value);
    }
}
