// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only stake token: anyone can mint.
contract TestStakeToken is ERC20 {
    constructor() ERC20("Test Stake", "TSTK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
