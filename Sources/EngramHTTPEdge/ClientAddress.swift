import Foundation
public import HTTPTypes

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Proxies trusted to report the real client in `X-Forwarded-For` / `Forwarded`
/// (`--trusted-proxies`, `ENGRAM_TRUSTED_PROXIES`: comma-separated IPs or CIDRs).
/// Forwarding headers from any other peer are ignored.
public struct TrustedProxies: Sendable, Equatable {
    /// One network: address bytes (4 for IPv4, 16 for IPv6) and prefix length.
    struct Network: Sendable, Equatable {
        let bytes: [UInt8]
        let prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var bits = prefix
            for i in bytes.indices where bits > 0 {
                let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if address[i] & mask != bytes[i] & mask { return false }
                bits -= 8
            }
            return true
        }
    }

    let networks: [Network]

    /// No trusted proxy: every client is its TCP peer.
    public static let none = TrustedProxies(networks: [])

    init(networks: [Network]) { self.networks = networks }

    /// Parses `10.0.0.0/8, 127.0.0.1, ::1`; throws a description of the first bad entry.
    public init(parsing list: String) throws {
        var networks: [Network] = []
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = Self.bytes(of: parts[0]) else { throw InvalidEntry(entry: entry) }
            var prefix = bytes.count * 8
            if parts.count == 2 {
                guard let p = Int(parts[1]), (0...bytes.count * 8).contains(p) else { throw InvalidEntry(entry: entry) }
                prefix = p
            }
            networks.append(Network(bytes: bytes, prefix: prefix))
        }
        self.networks = networks
    }

    /// A trusted-proxy entry that is neither an IP address nor a CIDR.
    public struct InvalidEntry: Error, CustomStringConvertible {
        public let entry: String
        public var description: String { "trusted proxy \"\(entry)\" is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1)" }
    }

    public var isEmpty: Bool { networks.isEmpty }

    /// Whether `ip` (textual) is a trusted proxy.
    public func contains(_ ip: String) -> Bool {
        guard !networks.isEmpty, let bytes = Self.bytes(of: ip) else { return false }
        return networks.contains { $0.contains(bytes) }
    }

    /// The address bytes of an IPv4 or IPv6 literal (IPv4-mapped IPv6 reduced to IPv4), or nil.
    static func bytes(of ip: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, ip, &v6) == 1 else { return nil }
        let b = withUnsafeBytes(of: &v6) { Array($0) }
        if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xFF, b[11] == 0xFF { return Array(b[12...]) }
        return b
    }

    /// The real client of a request that arrived from `peer`: the peer itself unless it is a
    /// trusted proxy; then the forwarded chain is walked from the right, skipping trusted
    /// proxies, and the first other address is the client (clients can prepend anything, so
    /// only entries appended by trusted proxies are believed).
    public func client(peer: String, headers: HTTPFields) -> ClientAddress {
        let forwardingHeaders = ClientAddress.forwardingHeaders.contains { headers[$0] != nil }
        var ip = peer
        var viaProxy = false
        if contains(peer) {
            for hop in Self.forwardedChain(headers).reversed() {
                guard Self.bytes(of: hop) != nil else { break }
                ip = hop
                viaProxy = true
                if !contains(hop) { break }
            }
        }
        return ClientAddress(
            ip: ip,
            viaProxy: viaProxy,
            peerIsLoopback: ClientAddress.isLoopback(peer),
            carriesForwardingHeaders: forwardingHeaders
        )
    }

    /// The addresses of `Forwarded` (RFC 7239 `for=`) or else `X-Forwarded-For`, client first.
    static func forwardedChain(_ headers: HTTPFields) -> [String] {
        let forwarded = headers[values: .forwarded]
        if !forwarded.isEmpty {
            return forwarded.joined(separator: ",").split(separator: ",").map { element in
                let pair = element.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                    .first { $0.lowercased().hasPrefix("for=") }
                return pair.map { unwrapNode(String($0.dropFirst(4))) } ?? ""
            }
        }
        return headers[values: .xForwardedFor].joined(separator: ",").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// `"[2001:db8::1]:4711"` → `2001:db8::1`, `192.0.2.1:80` → `192.0.2.1`.
    static func unwrapNode(_ raw: String) -> String {
        var node = raw.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        if node.hasPrefix("[") {
            node = String(node.dropFirst().prefix { $0 != "]" })
        } else if node.filter({ $0 == ":" }).count == 1 {
            node = String(node.prefix { $0 != ":" })
        }
        return node
    }
}

/// Who sent a request, as far as the edge can tell.
public struct ClientAddress: Sendable, Equatable {
    /// The client IP: the TCP peer, or the address a trusted proxy forwarded.
    public var ip: String
    /// Whether `ip` came from a trusted proxy's forwarding header.
    public var viaProxy: Bool
    /// Whether the TCP peer is a loopback address.
    public var peerIsLoopback: Bool
    /// Whether the request carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP`.
    public var carriesForwardingHeaders: Bool

    static let forwardingHeaders: [HTTPField.Name] = [.forwarded, .xForwardedFor, .xRealIP]

    /// A local caller: connected from loopback and not relayed by a proxy (a proxy on the same host
    /// makes every request look like loopback, so anything forwarded or carrying forwarding headers is not).
    public var isLoopback: Bool { peerIsLoopback && !viaProxy && !carriesForwardingHeaders }

    public init(ip: String, viaProxy: Bool, peerIsLoopback: Bool, carriesForwardingHeaders: Bool) {
        self.ip = ip
        self.viaProxy = viaProxy
        self.peerIsLoopback = peerIsLoopback
        self.carriesForwardingHeaders = carriesForwardingHeaders
    }

    /// A directly connected peer (no proxy, no forwarding headers seen yet).
    public init(peer: String) {
        self.init(ip: peer, viaProxy: false, peerIsLoopback: Self.isLoopback(peer), carriesForwardingHeaders: false)
    }

    static func isLoopback(_ ip: String) -> Bool {
        guard let b = TrustedProxies.bytes(of: ip) else { return false }
        return b.count == 4 ? b[0] == 127 : b == [UInt8](repeating: 0, count: 15) + [1]
    }
}

extension HTTPField.Name {
    static let forwarded = HTTPField.Name("Forwarded")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xRealIP = HTTPField.Name("X-Real-IP")!
}
