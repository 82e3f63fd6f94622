package import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One bounded HTTP request to the Engram server for the commands that must not hang or throw on a
/// bad answer (`engram recall --hook …`, `engram doctor`): every request has a timeout, the status and
/// headers come back whatever they are, and a transport failure is classified (refused, timed out, TLS).
/// The token goes in the `Authorization` header only; nothing here logs it.
package final class HTTPProbe: Sendable {
    package let base: URL
    package let token: String?
    /// Seconds for the whole request (connect, send, wait, read).
    package let timeout: TimeInterval
    /// One session for every request of this probe (they may run at once).
    private let session: URLSession

    package init(base: URL, token: String?, timeout: TimeInterval) {
        self.base = base
        self.token = token
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.urlCache = nil
        configuration.httpShouldSetCookies = false
        session = URLSession(configuration: configuration)
    }

    deinit { session.finishTasksAndInvalidate() }

    package struct Reply: Sendable {
        package var status: Int
        /// Header names lowercased.
        package var headers: [String: String]
        package var body: Data
        /// Seconds from sending to the complete answer.
        package var elapsed: TimeInterval

        package var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }

        /// The server's `{"error": {"message"}}`, when it sent one.
        package var errorMessage: String? { (json?["error"] as? [String: Any])?["message"] as? String }
    }

    /// Why no answer came back.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package enum Kind: Sendable { case refused, timedOut, tls, unknownHost, other }
        package var kind: Kind
        package var reason: String
        package var description: String { reason }
    }

    package func send(_ method: String, _ path: String, query: [URLQueryItem] = [], body: Data? = nil) async throws(Failure) -> Reply {
        guard var components = URLComponents(url: base.appendingPathComponent(path), resolvingAgainstBaseURL: false) else {
            throw Failure(kind: .other, reason: "invalid URL")
        }
        if !query.isEmpty { components.queryItems = query }
        guard let url = components.url else { throw Failure(kind: .other, reason: "invalid URL") }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.setValue("engram-cli/\(method.lowercased())", forHTTPHeaderField: "User-Agent")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let started = Date()
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw Self.classify(error)
        }
        guard let http = response as? HTTPURLResponse else { throw Failure(kind: .other, reason: "not an HTTP answer") }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return Reply(status: http.statusCode, headers: headers, body: data, elapsed: Date().timeIntervalSince(started))
    }

    /// `url` as shown to people: without a user name or password it may carry.
    package static func display(_ url: URL) -> String {
        guard var c = URLComponents(url: url, resolvingAgainstBaseURL: false), c.user != nil || c.password != nil else {
            return url.absoluteString
        }
        c.user = nil
        c.password = nil
        return c.string ?? url.absoluteString
    }

    /// A transport error in a few words.
    package static func classify(_ error: any Error) -> Failure {
        guard let e = error as? URLError else { return Failure(kind: .other, reason: "\(error)") }
        switch e.code {
        case .cannotConnectToHost: return Failure(kind: .refused, reason: "connection refused")
        case .timedOut: return Failure(kind: .timedOut, reason: "timed out")
        case .cannotFindHost, .dnsLookupFailed: return Failure(kind: .unknownHost, reason: "unknown host")
        case .networkConnectionLost: return Failure(kind: .other, reason: "connection lost")
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
            .serverCertificateHasUnknownRoot, .clientCertificateRejected, .clientCertificateRequired:
            return Failure(kind: .tls, reason: "TLS failed (\(e.localizedDescription))")
        default: return Failure(kind: .other, reason: e.localizedDescription)
        }
    }
}

/// Runs blocking work (reading standard input, waiting for `git`) off the cooperative pool and gives up
/// on it after `timeout` seconds: the answer is nil then, and the work is left to finish on its own.
package enum Bounded {
    package static func run<T: Sendable>(timeout: TimeInterval, _ body: @escaping @Sendable () -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let once = Once()
            DispatchQueue.global().async {
                let value = body()
                if once.claim() { continuation.resume(returning: value) }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + max(0, timeout)) {
                if once.claim() { continuation.resume(returning: nil) }
            }
        }
    }

    /// True for the first caller only.
    package final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var claimed = false

        package func claim() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if claimed { return false }
            claimed = true
            return true
        }
    }
}
