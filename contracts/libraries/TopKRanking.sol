// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TopKRanking
/// @notice Keeps the `capacity` best entries of a growing population separated from the
/// rest, so that the best K can be read in O(K) and every update costs O(log n), whatever
/// the population size. Two binary heaps in storage:
///  - `top`:  a min-heap holding the best `min(capacity, n)` keys (root = weakest of them);
///  - `rest`: a max-heap holding everything else (root = strongest of them).
/// Invariant: every key in `top` is greater than every key in `rest`, and `rest` is empty
/// unless `top` is full.
///
/// A key packs the ranking criteria and the entry's id into one word so that keys are unique
/// and compare with a single `>`: `key = stake << 32 | (type(uint32).max - id)`. A larger
/// stake ranks first; on equal stakes the smaller id (earlier registration) ranks first.
library TopKRanking {
    /// @dev Marks a position as being in the `rest` heap (positions in `top` carry no flag).
    uint256 private constant REST_FLAG = 1 << 255;

    struct Ranking {
        uint256[] top;
        uint256[] rest;
        /// @dev id => heap position + 1 (0 = absent), with REST_FLAG when in `rest`.
        mapping(uint32 id => uint256) position;
    }

    /// @dev The id is already ranked.
    error AlreadyRanked(uint32 id);
    /// @dev The id is not ranked.
    error NotRanked(uint32 id);
    /// @dev The stake does not fit the 96 bits a key reserves for it.
    error StakeOverflow(uint256 stake);

    /// @notice The key of `id` with `stake`.
    function keyOf(uint32 id, uint256 stake) internal pure returns (uint256) {
        if (stake > type(uint96).max) revert StakeOverflow(stake);
        return (stake << 32) | (type(uint32).max - id);
    }

    /// @notice The id a key belongs to.
    function idOf(uint256 key) internal pure returns (uint32) {
        return type(uint32).max - uint32(key);
    }

    /// @notice The stake a key carries.
    function stakeOf(uint256 key) internal pure returns (uint256) {
        return key >> 32;
    }

    /// @notice Whether `id` is ranked.
    function contains(Ranking storage r, uint32 id) internal view returns (bool) {
        return r.position[id] != 0;
    }

    /// @notice Adds `key` (whose id must not be ranked yet). Returns whether the top set changed.
    function insert(Ranking storage r, uint256 key, uint256 capacity) internal returns (bool topChanged) {
        uint32 id = idOf(key);
        if (r.position[id] != 0) revert AlreadyRanked(id);
        if (r.top.length < capacity) {
            _push(r, false, key);
            return true;
        }
        uint256 weakest = r.top[0];
        if (key > weakest) {
            _replaceAt(r, false, 0, key);
            _push(r, true, weakest);
            return true;
        }
        _push(r, true, key);
        return false;
    }

    /// @notice Removes `id`. Returns whether the top set changed.
    function remove(Ranking storage r, uint32 id) internal returns (bool topChanged) {
        (bool inRest, uint256 i) = _locate(r, id);
        _removeAt(r, inRest, i);
        if (inRest) return false;
        if (r.rest.length != 0) _push(r, false, _popRoot(r, true));
        return true;
    }

    /// @notice Replaces the key of an already ranked id by `key`. Returns whether the top set
    /// (members or their stakes) changed.
    function update(Ranking storage r, uint256 key) internal returns (bool topChanged) {
        (bool inRest, uint256 i) = _locate(r, idOf(key));
        _replaceAt(r, inRest, i, key);
        bool swapped = _rebalance(r);
        return !inRest || swapped;
    }

    /// @notice Moves entries between the heaps so that `top` holds the best `capacity` ones.
    function setCapacity(Ranking storage r, uint256 capacity) internal {
        while (r.top.length > capacity) _push(r, true, _popRoot(r, false));
        while (r.top.length < capacity && r.rest.length != 0) _push(r, false, _popRoot(r, true));
    }

    /// @notice The keys of the top set, largest first. Heapsorts a memory copy of the min-heap
    /// in place (O(K log K) worst case): each step moves the current minimum to the end.
    function sortedTop(Ranking storage r) internal view returns (uint256[] memory keys) {
        keys = r.top;
        // Indices stay below keys.length: no overflow or bounds surprises to check for.
        unchecked {
            for (uint256 end = keys.length; end > 1; ) {
                --end;
                uint256 last = keys[end];
                keys[end] = keys[0];
                // Sift `last` down from the root of the heap keys[0..end).
                uint256 i;
                while (true) {
                    uint256 child = 2 * i + 1;
                    if (child >= end) break;
                    if (child + 1 < end && keys[child + 1] < keys[child]) ++child;
                    if (keys[child] >= last) break;
                    keys[i] = keys[child];
                    i = child;
                }
                keys[i] = last;
            }
        }
    }

    /// @notice How many ids are ranked.
    function size(Ranking storage r) internal view returns (uint256) {
        return r.top.length + r.rest.length;
    }

    // ---------------------------------------------------------------- heap internals

    function _locate(Ranking storage r, uint32 id) private view returns (bool inRest, uint256 i) {
        uint256 p = r.position[id];
        if (p == 0) revert NotRanked(id);
        inRest = p & REST_FLAG != 0;
        i = (p & ~REST_FLAG) - 1;
    }

    /// @dev One swap restores the invariant after a single key changed.
    function _rebalance(Ranking storage r) private returns (bool swapped) {
        if (r.top.length == 0 || r.rest.length == 0) return false;
        uint256 weakestTop = r.top[0];
        uint256 strongestRest = r.rest[0];
        if (strongestRest < weakestTop) return false;
        _replaceAt(r, false, 0, strongestRest);
        _replaceAt(r, true, 0, weakestTop);
        return true;
    }

    /// @dev `a` belongs above `b`: smaller first in the min-heap `top`, larger first in `rest`.
    function _above(bool inRest, uint256 a, uint256 b) private pure returns (bool) {
        return inRest ? a > b : a < b;
    }

    function _heap(Ranking storage r, bool inRest) private view returns (uint256[] storage) {
        return inRest ? r.rest : r.top;
    }

    function _place(Ranking storage r, bool inRest, uint256[] storage h, uint256 i, uint256 key) private {
        h[i] = key;
        r.position[idOf(key)] = (inRest ? REST_FLAG : 0) | (i + 1);
    }

    function _push(Ranking storage r, bool inRest, uint256 key) private {
        uint256[] storage h = _heap(r, inRest);
        h.push();
        _siftUp(r, inRest, h, h.length - 1, key);
    }

    function _popRoot(Ranking storage r, bool inRest) private returns (uint256 root) {
        root = _heap(r, inRest)[0];
        _removeAt(r, inRest, 0);
    }

    function _removeAt(Ranking storage r, bool inRest, uint256 i) private {
        uint256[] storage h = _heap(r, inRest);
        uint256 removed = h[i];
        uint256 lastIndex = h.length - 1;
        uint256 last = h[lastIndex];
        h.pop();
        delete r.position[idOf(removed)];
        if (i != lastIndex) _fix(r, inRest, h, i, last);
    }

    function _replaceAt(Ranking storage r, bool inRest, uint256 i, uint256 key) private {
        _fix(r, inRest, _heap(r, inRest), i, key);
    }

    /// @dev Puts `key` at hole `i` and moves it up or down to where it belongs.
    function _fix(Ranking storage r, bool inRest, uint256[] storage h, uint256 i, uint256 key) private {
        if (i != 0 && _above(inRest, key, h[(i - 1) / 2])) _siftUp(r, inRest, h, i, key);
        else _siftDown(r, inRest, h, i, key);
    }

    function _siftUp(Ranking storage r, bool inRest, uint256[] storage h, uint256 i, uint256 key) private {
        while (i != 0) {
            uint256 parent = (i - 1) / 2;
            uint256 parentKey = h[parent];
            if (!_above(inRest, key, parentKey)) break;
            _place(r, inRest, h, i, parentKey);
            i = parent;
        }
        _place(r, inRest, h, i, key);
    }

    function _siftDown(Ranking storage r, bool inRest, uint256[] storage h, uint256 i, uint256 key) private {
        uint256 n = h.length;
        while (true) {
            uint256 child = 2 * i + 1;
            if (child >= n) break;
            uint256 childKey = h[child];
            if (child + 1 < n) {
                uint256 otherKey = h[child + 1];
                if (_above(inRest, otherKey, childKey)) {
                    child += 1;
                    childKey = otherKey;
                }
            }
            if (!_above(inRest, childKey, key)) break;
            _place(r, inRest, h, i, childKey);
            i = child;
        }
        _place(r, inRest, h, i, key);
    }
}
