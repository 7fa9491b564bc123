import { expect } from "chai";
import { clientKeyOf } from "../../node/rpc/clients.js";

describe("per-client keys of remote addresses", () => {
  it("keys an IPv4 client by its address, an IPv4-mapped IPv6 one too", () => {
    expect(clientKeyOf("203.0.113.7")).to.equal("203.0.113.7");
    expect(clientKeyOf("::ffff:203.0.113.7")).to.equal("203.0.113.7");
    expect(clientKeyOf("::FFFF:203.0.113.7")).to.equal("203.0.113.7");
  });

  it("keys an IPv6 client by its /64, however the address is written", () => {
    const key = "2001:db8:0:1::/64";
    for (const address of ["2001:db8:0:1::1", "2001:0db8:0000:0001:ffff:0:0:2", "2001:db8::1:0:0:0:3", "2001:DB8:0:1:a:b:c:d%eth0", "2001:db8:0:1::192.0.2.1"]) {
      expect(clientKeyOf(address), address).to.equal(key);
    }
    expect(clientKeyOf("2001:db8:0:2::1")).to.not.equal(key);
    expect(clientKeyOf("::1")).to.equal("0:0:0:0::/64");
    expect(clientKeyOf("2001:db8:1:2:3::192.0.2.1")).to.equal("2001:db8:1:2::/64");
  });

  it("puts clients without a known address under one key", () => {
    expect(clientKeyOf(undefined)).to.equal("unknown");
    expect(clientKeyOf("")).to.equal("unknown");
  });
});
