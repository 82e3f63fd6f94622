import AsyncHTTPClient
public import EngramAccounts
import EngramHTTP
public import EngramHTTPEdge
import EngramMemory
public import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves a host name to its addresses (textual IPs).
public protocol HostResolving: Sendable {
    func addresses(of host: String) async throws -> [String]
}

/// The system resolver (`getaddrinfo`), off the cooperative pool: it blocks.
public struct SystemResolver: HostResolving {
    public init() {}

    public func addresses(of host: String) async throws -> [String] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_family = AF_UNSPEC
                #if canImport(Glibc)
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                #else
                hints.ai_socktype = SOCK_STREAM
                #endif
                var list: UnsafeMutablePointer<addrinfo>?
                guard getaddrinfo(host, nil, &hints, &list) == 0 else {
                    continuation.resume(throwing: ClientMetadataFetchError("unknown host"))
                    return
                }
                var out: [String] = []
                var node = list
                while let info = node {
                    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    if info.pointee.ai_family == AF_INET, let sa = info.pointee.ai_addr {
                        var v4 = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                        if inet_ntop(AF_INET, &v4, &text, socklen_t(text.count)) != nil { out.append(String(cString: text)) }
                    } else if info.pointee.ai_family == AF_INET6, let sa = info.pointee.ai_addr {
                        var v6 = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                        if inet_ntop(AF_INET6, &v6, &text, socklen_t(text.count)) != nil { out.append(String(cString: text)) }
                    }
                    node = info.pointee.ai_next
                }
                freeaddrinfo(list)
                var seen = Set<String>()
                continuation.resume(returning: out.filter { seen.insert($0).inserted })
            }
        }
    }
}

/// Fetches OAuth client metadata documents for `ClientMetadataDocuments`, as a server that lets
/// strangers name URLs must: https only; the host resolved once and every address checked against
/// the `OutboundAddressPolicy` (no loopback, private, link-local … unless allow-listed) before any
/// connection; the connection pinned to the checked address (so a second DNS answer cannot point it
/// elsewhere) while the certificate is verified for the host name; no redirects; a status of 200;
/// the body read up to the limit and no further; 5 seconds in all.
public struct HTTPSClientMetadataFetcher: ClientMetadataFetching {
    let policy: OutboundAddressPolicy
    let tls: TLSConfiguration
    let resolver: any HostResolving
    let timeout: Duration
    let logger: Logger

    /// - Parameter extraTrustRoots: a PEM file of certificate authorities trusted besides the system's
    ///   (`ENGRAM_OUTBOUND_CA_FILE`, for clients whose documents sit behind a private CA).
    public init(
        policy: OutboundAddressPolicy,
        extraTrustRoots: String? = nil,
        resolver: any HostResolving = SystemResolver(),
        timeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "engram.oauth")
    ) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let extraTrustRoots {
            tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(extraTrustRoots))]
        }
        self.policy = policy
        self.tls = tls
        self.resolver = resolver
        self.timeout = timeout
        self.logger = logger
    }

    public func fetch(_ url: URL, limit: Int) async throws -> FetchedClientMetadata {
        guard let c = URLComponents(url: url, resolvingAgainstBaseURL: false), c.scheme?.lowercased() == "https",
            let rawHost = c.host, !rawHost.isEmpty
        else { throw ClientMetadataFetchError("not an https URL") }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        let addresses =
            OutboundAddressPolicy.isIPAddress(host) ? [host] : try await withDeadline { try await resolver.addresses(of: host) }
        guard let first = addresses.first else { throw ClientMetadataFetchError("unknown host") }
        guard addresses.allSatisfy({ policy.permits(host: host, address: $0) }) else {
            logger.warning("oauth: client metadata URL refused", metadata: ["host": "\(host)", "reason": "private address"])
            throw ClientMetadataFetchError("the host resolves to a private or reserved address")
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(3), read: .seconds(3)),
            decompression: .disabled
        )
        configuration.dnsOverride = [host: first]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await withDeadline { try await get(url, client: client, limit: limit) }
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            if let failure = error as? ClientMetadataFetchError { throw failure }
            logger.info("oauth: client metadata fetch failed", metadata: ["host": "\(host)", "error": "\(type(of: error))"])
            throw ClientMetadataFetchError(Self.reason(error))
        }
    }

    func get(_ url: URL, client: HTTPClient, limit: Int) async throws -> FetchedClientMetadata {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Engram OAuth")
        let response = try await client.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
        guard response.status == .ok else { throw ClientMetadataFetchError("HTTP \(response.status.code)") }
        if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
            throw ClientMetadataFetchError("larger than \(limit) bytes")
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ClientMetadataFetchError("larger than \(limit) bytes")
        }
        return FetchedClientMetadata(body: Array(body.readableBytesView), maxAge: Self.maxAge(response.headers[canonicalForm: "Cache-Control"]))
    }

    /// `max-age=N` in seconds; 0 for `no-store` or `no-cache`; nil when the server said nothing.
    static func maxAge(_ directives: [Substring]) -> TimeInterval? {
        var age: TimeInterval?
        for directive in directives.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            if directive == "no-store" || directive == "no-cache" { return 0 }
            if directive.hasPrefix("max-age="), let seconds = Double(directive.dropFirst(8)), seconds >= 0 { age = seconds }
        }
        return age
    }

    static func reason(_ error: any Error) -> String {
        switch error {
        case let e as HTTPClientError where e == .connectTimeout || e == .readTimeout || e == .deadlineExceeded: "timed out"
        case let e as HTTPClientError where e == .redirectLimitReached || e == .redirectCycleDetected: "redirects are not followed"
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError: "TLS failed"
        default: "connection failed"
        }
    }

    /// `body`, or a timeout failure after `timeout` (the work itself is cancelled, and a resolver that
    /// ignores cancellation finishes in the background).
    func withDeadline<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let limit = timeout
        return try await withCheckedThrowingContinuation { continuation in
            let once = Mutex(false)
            let finish: @Sendable (Result<T, any Error>) -> Void = { result in
                if once.withLock({ done in
                    defer { done = true }
                    return !done
                }) {
                    continuation.resume(with: result)
                }
            }
            let work = Task { finish(await Result(catching: body)) }
            Task {
                try? await Task.sleep(for: limit)
                work.cancel()
                finish(.failure(ClientMetadataFetchError("timed out")))
            }
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: @Sendable () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
