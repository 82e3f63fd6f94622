import HTTPTypes
import XCTest

@testable import EngramHTTPEdge

/// Trusted proxies and the real client address.
final class ClientAddressTests: XCTestCase {
    func testParsingAndMatching() throws {
        let proxies = try TrustedProxies(parsing: "10.0.0.0/8, 192.168.1.7 ,::1, 2001:db8::/32")
        XCTAssertTrue(proxies.contains("10.200.3.4"))
        XCTAssertTrue(proxies.contains("::ffff:10.1.2.3"), "IPv4-mapped addresses match IPv4 networks")
        XCTAssertTrue(proxies.contains("192.168.1.7"))
        XCTAssertFalse(proxies.contains("192.168.1.8"))
        XCTAssertTrue(proxies.contains("::1"))
        XCTAssertTrue(proxies.contains("2001:db8:ffff::1"))
        XCTAssertFalse(proxies.contains("2001:db9::1"))
        XCTAssertFalse(proxies.contains("not-an-ip"))
        XCTAssertThrowsError(try TrustedProxies(parsing: "10.0.0.0/33"))
        XCTAssertThrowsError(try TrustedProxies(parsing: "proxy.example"))
        XCTAssertTrue(try TrustedProxies(parsing: " , ").isEmpty)
    }

    func testForwardedClientIsBelievedOnlyFromTrustedProxies() throws {
        let proxies = try TrustedProxies(parsing: "10.0.0.0/8")
        var headers = HTTPFields()
        headers[.xForwardedFor] = "6.6.6.6, 203.0.113.9, 10.0.0.2"
        // Walked from the right: 10.0.0.2 is a proxy, 203.0.113.9 is the client; the spoofed 6.6.6.6 is ignored.
        var client = proxies.client(peer: "10.0.0.1", headers: headers)
        XCTAssertEqual(client.ip, "203.0.113.9")
        XCTAssertTrue(client.viaProxy)
        XCTAssertFalse(client.isLoopback)
        client = proxies.client(peer: "198.51.100.4", headers: headers)
        XCTAssertEqual(client.ip, "198.51.100.4", "an untrusted peer's headers are ignored")
        headers = HTTPFields()
        headers[.forwarded] = #"for=192.0.2.60;proto=https, for="[2001:db8::7]:4711""#
        XCTAssertEqual(proxies.client(peer: "10.1.1.1", headers: headers).ip, "2001:db8::7")
    }

    func testLoopbackIsNotLocalWhenForwarded() throws {
        let proxies = try TrustedProxies(parsing: "127.0.0.1")
        XCTAssertTrue(proxies.client(peer: "127.0.0.1", headers: [:]).isLoopback)
        XCTAssertTrue(TrustedProxies.none.client(peer: "::1", headers: [:]).isLoopback)
        var headers = HTTPFields()
        headers[.xForwardedFor] = "127.0.0.1"
        XCTAssertFalse(TrustedProxies.none.client(peer: "127.0.0.1", headers: headers).isLoopback, "forwarding headers: not a local caller")
        headers[.xForwardedFor] = "203.0.113.5"
        let client = proxies.client(peer: "127.0.0.1", headers: headers)
        XCTAssertEqual(client.ip, "203.0.113.5")
        XCTAssertFalse(client.isLoopback)
    }
}
