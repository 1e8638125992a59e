import NTPCore
import XCTest

// Tests for IPAddress, Subnet and AccessList: the text forms operators write
// in allow/deny lines, and the decisions those lines produce.

/// The parse error for `text`, or nil if it parsed.
private func addressError(_ text: String) -> AddressParseError? {
    do {
        _ = try IPAddress(parsing: text)
        return nil
    } catch {
        return error
    }
}

private func subnetError(_ text: String) -> AddressParseError? {
    do {
        _ = try Subnet(parsing: text)
        return nil
    } catch {
        return error
    }
}

private func ip(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> IPAddress {
    do {
        return try IPAddress(parsing: text)
    } catch {
        XCTFail("\(error)", file: file, line: line)
        return .v4(0)
    }
}

private func subnet(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Subnet {
    do {
        return try Subnet(parsing: text)
    } catch {
        XCTFail("\(error)", file: file, line: line)
        return .all
    }
}

private func allow(_ text: String) -> AccessRule { AccessRule(allow: true, subnet: subnet(text)) }
private func deny(_ text: String) -> AccessRule { AccessRule(allow: false, subnet: subnet(text)) }

final class IPAddressTests: XCTestCase {
    func testIPv4ParsesToHostOrderInteger() {
        XCTAssertEqual(IPAddress("127.0.0.1"), .v4(0x7F00_0001))
        XCTAssertEqual(IPAddress("0.0.0.0"), .v4(0))
        XCTAssertEqual(IPAddress("255.255.255.255"), .v4(.max))
        XCTAssertEqual(IPAddress("192.0.2.1"), .v4(0xC000_0201))
    }

    func testIPv4RoundTrip() {
        for text in ["0.0.0.0", "1.2.3.4", "10.0.0.1", "192.0.2.255", "255.255.255.255"] {
            XCTAssertEqual(ip(text).description, text)
        }
    }

    func testIPv6SpecialForms() {
        XCTAssertEqual(IPAddress("::"), .v6(high: 0, low: 0))
        XCTAssertEqual(IPAddress("::1"), .v6(high: 0, low: 1))
        XCTAssertEqual(IPAddress("2001:db8::1"), .v6(high: 0x2001_0DB8_0000_0000, low: 1))
        XCTAssertEqual(IPAddress("::ffff:192.0.2.1"), .v6(high: 0, low: 0xFFFF_C000_0201))
        XCTAssertEqual(IPAddress("1::"), .v6(high: 0x0001_0000_0000_0000, low: 0))
        XCTAssertEqual(
            IPAddress("1:2:3:4:5:6:7:8"), .v6(high: 0x0001_0002_0003_0004, low: 0x0005_0006_0007_0008))
    }

    func testIPv6RoundTripOfCanonicalText() {
        let canonical = [
            "::", "::1", "1::", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1:2",
            "1:2:3:4:5:6:7:8", "2001:db8:0:1:1:1:1:1", "2001:db8::1:0:0:1", "2001:db8:0:0:1::",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b::c000:221", "::ffff:0.0.0.0",
        ]
        for text in canonical {
            XCTAssertEqual(ip(text).description, text, text)
            XCTAssertEqual(IPAddress(ip(text).description), ip(text), text)
        }
    }

    func testIPv6CanonicalisationFollowsRFC5952() {
        let cases: [(String, String)] = [
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),            // lower case, longest run
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),  // leading zeros dropped
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),      // first of equal runs
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),   // a single zero group stays
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),            // the longer run wins
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),             // '::' for one group is accepted
            ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
            ("0:0:0:0:0:ffff:c000:201", "::ffff:192.0.2.1"),    // mapped printed dotted
            ("::FFFF:C000:0201", "::ffff:192.0.2.1"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),       // dotted input elsewhere is hex output
            ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
            ("::1.2.3.4", "::102:304"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(ip(input).description, expected, input)
        }
    }

    func testUnmappedFoldsOnlyIPv4MappedAddresses() {
        XCTAssertEqual(ip("::ffff:192.0.2.1").unmapped, .v4(0xC000_0201))
        XCTAssertEqual(ip("192.0.2.1").unmapped, .v4(0xC000_0201))
        XCTAssertEqual(ip("::1").unmapped, ip("::1"))
        XCTAssertEqual(ip("::1.2.3.4").unmapped, ip("::1.2.3.4"))      // "compatible", not mapped
        XCTAssertEqual(ip("::fffe:1.2.3.4").unmapped, ip("::fffe:1.2.3.4"))
        XCTAssertEqual(ip("1::ffff:1.2.3.4").unmapped, ip("1::ffff:1.2.3.4"))
        XCTAssertEqual(ip("192.0.2.1").mapped, ip("::ffff:192.0.2.1"))
        XCTAssertEqual(ip("::1").mapped, ip("::1"))
    }

    func testOrderingPutsIPv4First() {
        let sorted = [ip("::1"), ip("10.0.0.2"), ip("::"), ip("10.0.0.1")].sorted()
        XCTAssertEqual(sorted, [ip("10.0.0.1"), ip("10.0.0.2"), ip("::"), ip("::1")])
    }

    /// Every malformed input is refused, by both initialisers, with a reason
    /// that names the problem.
    func testBadInputsHaveClearReasons() {
        let cases: [(String, String)] = [
            ("", "empty address"),
            ("1.2.3", "expected 4 dot-separated octets, found 3"),
            ("1.2.3.4.5", "expected 4 dot-separated octets, found 5"),
            ("1.2.3.256", "octet \"256\" is greater than 255"),
            ("1.2.3.99999999999999999999", "is greater than 255"),
            ("1..2.3", "empty octet"),
            ("1.2.3.", "empty octet"),
            ("01.2.3.4", "leading zero"),
            ("1.2.3.a", "unexpected character 'a'"),
            ("1.2.-3.4", "unexpected character '-'"),
            (":::", "':::' is not valid"),
            ("1:::2", "':::' is not valid"),
            ("1::2::3", "'::' may appear only once"),
            ("g::1", "invalid hex digit 'g' in group \"g\""),
            ("1:2:3:4:5:6:7:8:9", "expected 8 groups of 16 bits, found 9"),
            ("1:2:3:4:5:6:7", "expected 8 groups of 16 bits, found 7 (use '::'"),
            ("1:2:3:4:5:6:7:8::", "too many groups"),
            ("1:2:3:4::5:6:7:8", "too many groups"),
            ("00000::1", "group \"00000\" has more than 4 hex digits"),
            ("::12345", "group \"12345\" has more than 4 hex digits"),
            (":1::2", "cannot start with a single ':'"),
            ("1::2:", "cannot end with a single ':'"),
            ("1:2:3:4:5:6:7:8:", "cannot end with a single ':'"),
            ("fe80::1%eth0", "zone index"),
            ("10.0.0.0/8", "prefix length"),
            (" 1.2.3.4", "whitespace"),
            ("1.2.3.4\n", "whitespace"),
            ("１.2.3.4", "non-ASCII"),
            ("abc", "not an IPv4 address"),
            ("1234", "not an IPv4 address"),
            ("::1.2.3.256", "embedded IPv4 part \"1.2.3.256\": octet \"256\" is greater than 255"),
            ("::1.2.3", "embedded IPv4 part \"1.2.3\": expected 4 dot-separated octets"),
            ("1.2.3.4::", "may only appear as the last part"),
            ("::1.2.3.4:1", "may only appear as the last part"),
            ("1:2:3:4:5:6:7:1.2.3.4", "expected 8 groups of 16 bits, found 9"),
        ]
        for (input, reason) in cases {
            XCTAssertNil(IPAddress(input), "accepted \(input.debugDescription)")
            guard let error = addressError(input) else {
                XCTFail("accepted \(input.debugDescription)")
                continue
            }
            XCTAssertEqual(error.input, input)
            XCTAssertTrue(
                error.reason.contains(reason),
                "\(input.debugDescription): reason \(error.reason.debugDescription) lacks \(reason.debugDescription)")
            XCTAssertTrue(error.description.contains(error.reason))
        }
    }

    func testErrorDescriptionQuotesTheInput() {
        XCTAssertEqual(
            addressError("1.2.3.256")?.description,
            "invalid address \"1.2.3.256\": octet \"256\" is greater than 255")
        let long = String(repeating: "1", count: 500)
        XCTAssertLessThan(addressError(long)?.description.count ?? .max, 200)
    }
}

final class SubnetTests: XCTestCase {
    func testIPv4PrefixMatching() {
        let net = subnet("192.168.4.0/22")
        XCTAssertEqual(net.prefixLength, 22)
        XCTAssertEqual(net.network, ip("192.168.4.0"))
        XCTAssertTrue(net.contains(ip("192.168.4.0")))
        XCTAssertTrue(net.contains(ip("192.168.7.255")))
        XCTAssertFalse(net.contains(ip("192.168.8.0")))
        XCTAssertFalse(net.contains(ip("192.168.3.255")))
        XCTAssertFalse(net.contains(ip("::1")))
    }

    func testZeroLengthPrefixesCoverOneFamily() {
        let v4 = subnet("0.0.0.0/0")
        XCTAssertEqual(v4.prefixLength, 0)
        XCTAssertTrue(v4.contains(ip("0.0.0.0")))
        XCTAssertTrue(v4.contains(ip("255.255.255.255")))
        XCTAssertTrue(v4.contains(ip("::ffff:1.2.3.4")))
        XCTAssertFalse(v4.contains(ip("::1")))

        let v6 = subnet("::/0")
        XCTAssertEqual(v6.prefixLength, 0)
        XCTAssertTrue(v6.contains(ip("2001:db8::1")))
        XCTAssertTrue(v6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))
        XCTAssertFalse(v6.contains(ip("1.2.3.4")))
        XCTAssertFalse(v6.contains(ip("::ffff:1.2.3.4")), "mapped clients count as IPv4")
    }

    func testHostPrefixesAndBareAddresses() {
        XCTAssertEqual(subnet("192.0.2.1"), subnet("192.0.2.1/32"))
        XCTAssertEqual(subnet("192.0.2.1").prefixLength, 32)
        XCTAssertTrue(subnet("192.0.2.1/32").contains(ip("192.0.2.1")))
        XCTAssertFalse(subnet("192.0.2.1/32").contains(ip("192.0.2.2")))

        XCTAssertEqual(subnet("2001:db8::1"), subnet("2001:db8::1/128"))
        XCTAssertEqual(subnet("2001:db8::1").prefixLength, 128)
        XCTAssertTrue(subnet("2001:db8::1/128").contains(ip("2001:db8::1")))
        XCTAssertFalse(subnet("2001:db8::1/128").contains(ip("2001:db8::2")))
    }

    func testIPv6PrefixMatchingAcrossTheWordBoundary() {
        let net32 = subnet("2001:db8::/32")
        XCTAssertTrue(net32.contains(ip("2001:db8:ffff:ffff::1")))
        XCTAssertFalse(net32.contains(ip("2001:db9::")))

        let net64 = subnet("2001:db8:1:2::/64")
        XCTAssertTrue(net64.contains(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")))
        XCTAssertFalse(net64.contains(ip("2001:db8:1:3::")))

        let net65 = subnet("2001:db8::8000:0:0:0/65")
        XCTAssertTrue(net65.contains(ip("2001:db8::ffff:0:0:1")))
        XCTAssertFalse(net65.contains(ip("2001:db8::1")))

        let net127 = subnet("2001:db8::/127")
        XCTAssertTrue(net127.contains(ip("2001:db8::1")))
        XCTAssertFalse(net127.contains(ip("2001:db8::2")))
    }

    func testAllCoversBothFamilies() {
        let all = subnet("all")
        XCTAssertEqual(all, Subnet.all)
        XCTAssertTrue(all.isAll)
        XCTAssertNil(all.network)
        XCTAssertEqual(all.prefixLength, 0)
        XCTAssertEqual(all.description, "all")
        for text in ["0.0.0.0", "203.0.113.9", "::", "2001:db8::1", "::ffff:10.0.0.1"] {
            XCTAssertTrue(all.contains(ip(text)), text)
        }
        XCTAssertNotEqual(all, subnet("0.0.0.0/0"))
        XCTAssertFalse(subnet("0.0.0.0/0").isAll)
    }

    func testHostBitsSetIsAnErrorWithASuggestion() {
        let error = subnetError("10.1.2.3/8")
        XCTAssertEqual(error?.input, "10.1.2.3/8")
        XCTAssertEqual(error?.reason, "host bits are set; did you mean 10.0.0.0/8?")
        XCTAssertEqual(
            error?.description, "invalid subnet \"10.1.2.3/8\": host bits are set; did you mean 10.0.0.0/8?")
        XCTAssertEqual(subnetError("2001:db8::1/32")?.reason, "host bits are set; did you mean 2001:db8::/32?")
        XCTAssertEqual(subnetError("192.168.1.1/24")?.reason, "host bits are set; did you mean 192.168.1.0/24?")
        XCTAssertEqual(subnetError("0.0.0.1/0")?.reason, "host bits are set; did you mean 0.0.0.0/0?")
        XCTAssertEqual(
            subnetError("::ffff:10.1.2.3/104")?.reason, "host bits are set; did you mean ::ffff:10.0.0.0/104?")
    }

    func testPrefixLengthErrors() {
        let cases: [(String, String)] = [
            ("10.0.0.0/33", "prefix length 33 is out of range 0...32 for an IPv4 address"),
            ("::/129", "prefix length 129 is out of range 0...128 for an IPv6 address"),
            ("10.0.0.0/99999999999999999999999", "prefix length 99999999999999999999999 is out of range 0...32"),
            ("::/0129", "prefix length 0129 is out of range 0...128"),
            ("10.0.0.0/", "missing prefix length after '/'"),
            ("10.0.0.0/x", "prefix length \"x\" is not a decimal number"),
            ("10.0.0.0/-1", "prefix length \"-1\" is not a decimal number"),
            ("10.0.0.0/8/9", "prefix length \"8/9\" is not a decimal number"),
            ("10.0.0.0/ 8", "is not a decimal number"),
            ("", "empty subnet"),
            ("/8", "empty address"),
            ("1.2.3.256/8", "octet \"256\" is greater than 255"),
            ("1::2::3/64", "'::' may appear only once"),
            ("ALL", "not an IPv4 address"),
            ("any", "not an IPv4 address"),
        ]
        for (input, reason) in cases {
            guard let error = subnetError(input) else {
                XCTFail("accepted \(input.debugDescription)")
                continue
            }
            XCTAssertEqual(error.input, input)
            XCTAssertTrue(
                error.reason.contains(reason),
                "\(input.debugDescription): reason \(error.reason.debugDescription) lacks \(reason.debugDescription)")
        }
    }

    func testMemberwiseInitialiserValidates() throws {
        XCTAssertEqual(try Subnet(address: ip("10.0.0.0"), prefixLength: 8), subnet("10.0.0.0/8"))
        XCTAssertEqual(try Subnet(address: ip("2001:db8::"), prefixLength: 32), subnet("2001:db8::/32"))
        XCTAssertThrowsError(try Subnet(address: ip("10.0.0.0"), prefixLength: 33)) { error in
            XCTAssertTrue((error as? AddressParseError)?.reason.contains("out of range") ?? false)
        }
        XCTAssertThrowsError(try Subnet(address: ip("10.0.0.0"), prefixLength: -1))
        XCTAssertThrowsError(try Subnet(address: ip("::"), prefixLength: 129))
        do {
            _ = try Subnet(address: ip("10.1.2.3"), prefixLength: 8)
            XCTFail("accepted host bits")
        } catch {
            XCTAssertEqual(error.input, "10.1.2.3/8")
            XCTAssertEqual(error.reason, "host bits are set; did you mean 10.0.0.0/8?")
        }
    }

    func testMappedClientsMatchIPv4Rules() {
        let net = subnet("10.0.0.0/8")
        XCTAssertTrue(net.contains(ip("::ffff:10.1.2.3")))
        XCTAssertFalse(net.contains(ip("::ffff:11.1.2.3")))
        XCTAssertTrue(subnet("192.0.2.1").contains(ip("::ffff:192.0.2.1")))
    }

    func testMappedPrefixesAreTheIPv4PrefixesTheyDenote() {
        XCTAssertEqual(subnet("::ffff:10.0.0.0/104"), subnet("10.0.0.0/8"))
        XCTAssertEqual(subnet("::ffff:10.0.0.0/104").description, "10.0.0.0/8")
        XCTAssertEqual(subnet("::ffff:0:0/96"), subnet("0.0.0.0/0"))
        XCTAssertEqual(subnet("::ffff:192.0.2.1"), subnet("192.0.2.1/32"))
        XCTAssertTrue(subnet("::ffff:10.0.0.0/104").contains(ip("10.9.9.9")))
        // Shorter IPv6 prefixes that cover the mapped range stay IPv6-only.
        XCTAssertFalse(subnet("::/64").contains(ip("10.9.9.9")))
        XCTAssertTrue(subnet("::/64").contains(ip("::1")))
    }

    func testDescriptionRoundTrips() {
        for text in ["10.0.0.0/8", "192.0.2.1/32", "0.0.0.0/0", "2001:db8::/32", "::/0", "::1/128", "all"] {
            XCTAssertEqual(subnet(text).description, text)
            XCTAssertEqual(subnet(subnet(text).description), subnet(text))
        }
        XCTAssertEqual(subnet("2001:DB8:0::/48").description, "2001:db8::/48")
    }
}

final class AccessListTests: XCTestCase {
    private let everyone = [
        "10.1.2.3", "192.0.2.1", "203.0.113.200", "0.0.0.0", "255.255.255.255",
        "::1", "2001:db8::1", "fe80::1", "::ffff:10.1.2.3",
    ]

    func testEmptyListAllowsEveryone() {
        let list = AccessList(rules: [])
        XCTAssertEqual(list, .allowAll)
        XCTAssertEqual(AccessList.allowAll.rules, [])
        for text in everyone {
            XCTAssertTrue(list.permits(ip(text)), text)
            XCTAssertNil(list.decidingRule(for: ip(text)))
        }
    }

    func testDenyOnlyListServesEveryoneButTheDenied() {
        let list = AccessList(rules: [deny("10.0.0.0/8"), deny("2001:db8:bad::/48")])
        XCTAssertFalse(list.permits(ip("10.1.2.3")))
        XCTAssertFalse(list.permits(ip("::ffff:10.1.2.3")))
        XCTAssertFalse(list.permits(ip("2001:db8:bad::7")))
        XCTAssertTrue(list.permits(ip("11.0.0.1")))
        XCTAssertTrue(list.permits(ip("192.0.2.1")))
        XCTAssertTrue(list.permits(ip("2001:db8:600d::1")))
        XCTAssertTrue(list.permits(ip("::1")))
    }

    func testAllowOnlyListServesOnlyTheAllowed() {
        let list = AccessList(rules: [allow("192.168.0.0/16")])
        XCTAssertTrue(list.permits(ip("192.168.1.1")))
        XCTAssertTrue(list.permits(ip("::ffff:192.168.1.1")))
        XCTAssertFalse(list.permits(ip("192.169.0.1")))
        XCTAssertFalse(list.permits(ip("::1")), "an allow rule makes unmatched addresses of any family denied")
    }

    func testMostSpecificDenyWinsInEitherOrder() {
        for rules in [[allow("10.0.0.0/8"), deny("10.1.0.0/16")], [deny("10.1.0.0/16"), allow("10.0.0.0/8")]] {
            let list = AccessList(rules: rules)
            XCTAssertFalse(list.permits(ip("10.1.2.3")), "\(rules)")
            XCTAssertTrue(list.permits(ip("10.2.3.4")), "\(rules)")
            XCTAssertFalse(list.permits(ip("11.0.0.1")), "\(rules)")
            XCTAssertEqual(list.decidingRule(for: ip("10.1.2.3")), deny("10.1.0.0/16"))
            XCTAssertEqual(list.decidingRule(for: ip("10.2.3.4")), allow("10.0.0.0/8"))
            XCTAssertNil(list.decidingRule(for: ip("11.0.0.1")))
        }
    }

    func testMostSpecificAllowWinsInEitherOrder() {
        for rules in [[deny("10.0.0.0/8"), allow("10.1.2.0/24")], [allow("10.1.2.0/24"), deny("10.0.0.0/8")]] {
            let list = AccessList(rules: rules)
            XCTAssertTrue(list.permits(ip("10.1.2.5")), "\(rules)")
            XCTAssertFalse(list.permits(ip("10.9.9.9")), "\(rules)")
            XCTAssertFalse(list.permits(ip("11.0.0.1")), "\(rules): unmatched, and an allow exists")
        }
        // A host rule inside a denied net inside an allowed net.
        let nested = AccessList(rules: [allow("all"), deny("10.0.0.0/8"), allow("10.0.0.1")])
        XCTAssertTrue(nested.permits(ip("10.0.0.1")))
        XCTAssertFalse(nested.permits(ip("10.0.0.2")))
        XCTAssertTrue(nested.permits(ip("8.8.8.8")))
        XCTAssertTrue(nested.permits(ip("2001:db8::1")))
    }

    func testEqualPrefixLaterRuleWins() {
        XCTAssertFalse(AccessList(rules: [allow("10.0.0.0/8"), deny("10.0.0.0/8")]).permits(ip("10.1.1.1")))
        XCTAssertTrue(AccessList(rules: [deny("10.0.0.0/8"), allow("10.0.0.0/8")]).permits(ip("10.1.1.1")))
        // Same length, different networks: each decides only for itself.
        let disjoint = AccessList(rules: [allow("10.0.0.0/8"), deny("11.0.0.0/8")])
        XCTAssertTrue(disjoint.permits(ip("10.1.1.1")))
        XCTAssertFalse(disjoint.permits(ip("11.1.1.1")))
        // "all" is as specific as 0.0.0.0/0 and ::/0.
        let later = AccessList(rules: [deny("all"), allow("0.0.0.0/0")])
        XCTAssertTrue(later.permits(ip("1.2.3.4")))
        XCTAssertFalse(later.permits(ip("::1")))
        let earlier = AccessList(rules: [allow("::/0"), deny("all")])
        XCTAssertFalse(earlier.permits(ip("2001:db8::1")))
        XCTAssertFalse(earlier.permits(ip("1.2.3.4")))
    }

    func testIPv6Rules() {
        let list = AccessList(rules: [
            allow("2001:db8::/32"), deny("2001:db8:bad::/48"), allow("2001:db8:bad:1::/64"), allow("192.0.2.0/24"),
        ])
        XCTAssertTrue(list.permits(ip("2001:db8::1")))
        XCTAssertFalse(list.permits(ip("2001:db8:bad::1")))
        XCTAssertTrue(list.permits(ip("2001:db8:bad:1::99")))
        XCTAssertFalse(list.permits(ip("2001:db9::1")))
        XCTAssertTrue(list.permits(ip("192.0.2.77")))
        XCTAssertTrue(list.permits(ip("::ffff:192.0.2.77")))
        XCTAssertFalse(list.permits(ip("198.51.100.1")))
    }

    func testChronyStyleLocalNetworkOnly() {
        // allow 192.168.0.0/16, allow fd00::/8, deny all (order-independent)
        let list = AccessList(rules: [allow("192.168.0.0/16"), allow("fd00::/8"), deny("all")])
        XCTAssertTrue(list.permits(ip("192.168.44.1")))
        XCTAssertTrue(list.permits(ip("fd12:3456::1")))
        XCTAssertFalse(list.permits(ip("8.8.8.8")))
        XCTAssertFalse(list.permits(ip("2001:4860::8888")))
        XCTAssertEqual(list.decidingRule(for: ip("8.8.8.8")), deny("all"))
    }

    func testRulesKeepTheirOrderAndEqualityComparesThem() {
        let rules = [deny("10.0.0.0/8"), allow("all"), deny("::1")]
        let list = AccessList(rules: rules)
        XCTAssertEqual(list.rules, rules)
        XCTAssertEqual(list, AccessList(rules: rules))
        XCTAssertNotEqual(list, AccessList(rules: rules.reversed()))
        XCTAssertEqual(rules.map(\.description), ["deny 10.0.0.0/8", "allow all", "deny ::1/128"])
    }

    func testManyRulesStayCorrect() {
        // 256 /24 rules alternating allow/deny, plus a covering deny.
        var rules = [deny("10.0.0.0/8")]
        for octet in 0..<256 {
            rules.append(AccessRule(allow: octet % 2 == 0, subnet: subnet("10.0.\(octet).0/24")))
        }
        let list = AccessList(rules: rules)
        for octet in 0..<256 {
            XCTAssertEqual(list.permits(ip("10.0.\(octet).9")), octet % 2 == 0)
        }
        XCTAssertFalse(list.permits(ip("10.1.0.1")))
        XCTAssertFalse(list.permits(ip("9.0.0.1")))
    }
}
