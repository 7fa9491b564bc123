// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Leader-signed promise that positions [firstPosition, lastPosition] hold the leaves
/// under `merkleRoot` (docs/protocol.md, "Order commitment certificate").
struct OrderCommitment {
    uint64 epoch;
    uint64 term;
    uint64 firstPosition;
    uint64 lastPosition;
    bytes32 merkleRoot;
}

/// @notice Quorum-signed header of an L1 batch (docs/protocol.md, "Batch header").
struct BatchHeader {
    uint64 epoch;
    uint64 batchNumber;
    bytes32 prevBatchHash;
    uint64 firstPosition;
    uint64 lastPosition;
    bytes32 merkleRoot;
    bytes32 dataHash;
}

/// @title SequencerTypes
/// @notice EIP-712 type hashes and struct hashes of the signed structs, identical to
/// `node/commitments/typed-data.ts` (and `node/l1/key-binding.ts` for the key and batcher bindings). Digests are `toTypedDataHash(registry.domainSeparator(), hash(x))`.
library SequencerTypes {
    bytes32 internal constant ORDER_COMMITMENT_TYPEHASH = keccak256(
        "OrderCommitment(uint64 epoch,uint64 term,uint64 firstPosition,uint64 lastPosition,bytes32 merkleRoot)"
    );

    bytes32 internal constant BATCH_HEADER_TYPEHASH = keccak256(
        "BatchHeader(uint64 epoch,uint64 batchNumber,bytes32 prevBatchHash,uint64 firstPosition,uint64 lastPosition,bytes32 merkleRoot,bytes32 dataHash)"
    );

    /// @notice What an operator's signing key and libp2p key sign to prove they are its own.
    bytes32 internal constant KEY_BINDING_TYPEHASH = keccak256("KeyBinding(address operator)");

    /// @notice What an account signs to become an operator's batcher (the account that posts its batches).
    bytes32 internal constant BATCHER_BINDING_TYPEHASH = keccak256("BatcherBinding(address operator)");

    /// @notice EIP-712 struct hash of the key binding of `operator`.
    function hashKeyBinding(address operator) internal pure returns (bytes32) {
        return keccak256(abi.encode(KEY_BINDING_TYPEHASH, operator));
    }

    /// @notice EIP-712 struct hash of the batcher binding of `operator`.
    function hashBatcherBinding(address operator) internal pure returns (bytes32) {
        return keccak256(abi.encode(BATCHER_BINDING_TYPEHASH, operator));
    }

    /// @notice EIP-712 struct hash of a certificate.
    function hash(OrderCommitment calldata c) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(ORDER_COMMITMENT_TYPEHASH, c.epoch, c.term, c.firstPosition, c.lastPosition, c.merkleRoot)
        );
    }

    /// @notice EIP-712 struct hash of a batch header: the batch hash that the next header's
    /// `prevBatchHash` holds (memory: the inbox also hashes the escape batches it builds).
    function hash(BatchHeader memory h) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                BATCH_HEADER_TYPEHASH,
                h.epoch,
                h.batchNumber,
                h.prevBatchHash,
                h.firstPosition,
                h.lastPosition,
                h.merkleRoot,
                h.dataHash
            )
        );
    }

    /// @notice Signer of `digest` from a 65-byte r ‖ s ‖ v calldata signature, or address(0) if the
    /// signature is malformed (wrong length, high s, bad v, or no key recovers). Reads calldata
    /// directly so that checking many signatures copies nothing to memory.
    function trySigner(bytes32 digest, bytes calldata signature) internal pure returns (address signer) {
        if (signature.length != 65) return address(0);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
        return err == ECDSA.RecoverError.NoError ? recovered : address(0);
    }
}
