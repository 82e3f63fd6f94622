import Foundation

/// Which addresses the server may connect to when a client makes it fetch a URL (an OAuth client
/// metadata document): public unicast only, unless an operator allow-lists a host name or network
/// (`ENGRAM_OAUTH_CLIENT_METADATA_ALLOW`, e.g. `clients.corp.example, 10.20.0.0/16`). Loopback, private
/// (RFC 1918, unique-local), link-local (cloud metadata at 169.254.169.254), shared, documentation,
/// benchmarking, multicast and reserved ranges are refused, and so are IPv6 forms that embed an IPv4
/// address (mapped, NAT64, 6to4) when the embedded address is refused.
public struct OutboundAddressPolicy: Sendable, Equatable {
    let allowedHosts: Set<String>
    let allowedNetworks: TrustedProxies

    /// Nothing allow-listed: public addresses only.
    public static let publicOnly = OutboundAddressPolicy(allowedHosts: [], allowedNetworks: .none)

    init(allowedHosts: Set<String>, allowedNetworks: TrustedProxies) {
        self.allowedHosts = allowedHosts
        self.allowedNetworks = allowedNetworks
    }

    /// Parses a comma-separated list of host names, IP addresses and CIDRs.
    public init(parsing list: String) throws {
        var hosts: Set<String> = []
        var networks: [String] = []
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !entry.isEmpty {
            if TrustedProxies.bytes(of: String(entry.split(separator: "/")[0])) != nil {
                networks.append(entry)
            } else {
                guard entry.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }), entry.count <= 253 else {
                    throw InvalidEntry(entry: entry)
                }
                hosts.insert(entry)
            }
        }
        do {
            allowedNetworks = try TrustedProxies(parsing: networks.joined(separator: ","))
        } catch let error as TrustedProxies.InvalidEntry {
            throw InvalidEntry(entry: error.entry)
        }
        allowedHosts = hosts
    }

    /// An allow-list entry that is neither a host name, an IP address nor a CIDR.
    public struct InvalidEntry: Error, CustomStringConvertible {
        public let entry: String
        public var description: String { "\"\(entry)\" is not a host name, IP address or CIDR" }
    }

    /// Whether the server may connect to `address` (textual IP) for a URL whose host is `host`.
    public func permits(host: String, address: String) -> Bool {
        if allowedHosts.contains(host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))) { return true }
        guard let bytes = TrustedProxies.bytes(of: address) else { return false }
        if allowedNetworks.contains(address) { return true }
        return Self.isPublic(bytes)
    }

    /// Whether `text` is an IPv4 or IPv6 literal (a URL host that needs no resolving).
    public static func isIPAddress(_ text: String) -> Bool { TrustedProxies.bytes(of: text) != nil }

    /// Whether an address (4 or 16 bytes; mapped IPv4 already reduced) is public unicast.
    static func isPublic(_ bytes: [UInt8]) -> Bool {
        if bytes.count == 4 { return !Self.specialV4.contains { $0.contains(bytes) } }
        guard bytes.count == 16 else { return false }
        // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address: judge that one.
        if Self.nat64.contains(bytes) { return isPublic(Array(bytes[12..<16])) }
        if Self.sixToFour.contains(bytes) { return isPublic(Array(bytes[2..<6])) }
        return !Self.specialV6.contains { $0.contains(bytes) }
    }

    static func networks(_ list: String) -> [TrustedProxies.Network] {
        // The literals below are valid: a failure here is a programming error.
        (try? TrustedProxies(parsing: list))?.networks ?? []
    }

    /// IANA IPv4 special-purpose ranges that are not globally reachable, plus multicast and class E.
    static let specialV4 = networks(
        "0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.0.0.0/24, 192.0.2.0/24, "
            + "192.88.99.0/24, 192.168.0.0/16, 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24, 224.0.0.0/4, 240.0.0.0/4"
    )
    /// IPv6: unspecified, loopback, IPv4-compatible, local-use NAT64, discard, Teredo and ORCHID, documentation,
    /// unique-local, link-local, site-local, multicast.
    static let specialV6 = networks(
        "::/128, ::1/128, ::/96, 64:ff9b:1::/48, 100::/64, 2001::/23, 2001:db8::/32, 3fff::/20, fc00::/7, fe80::/10, fec0::/10, ff00::/8"
    )
    static let nat64 = networks("64:ff9b::/96")[0]
    static let sixToFour = networks("2002::/16")[0]
}
