import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking HTTP/1.1 keep-alive client for loopback benchmarks.
///
/// Why not URLSession: on Linux it runs on libcurl through FoundationNetworking and
/// costs a large share of a request's CPU on a 2-core machine where client and server
/// share the cores, so the benchmark would measure the client. This one writes the
/// request with one `write` and reads the response with `read` on a blocking socket
/// (one per benchmark client, each on its own thread), parsing just enough of HTTP/1.1
/// (status line, `Content-Length` or chunked body). Not for general use.
package final class BenchHTTPClient: @unchecked Sendable {  // each instance is used by one thread at a time
    private var fd: Int32 = -1
    private let host: String
    private let port: UInt16
    private var buffer = [UInt8]()
    private var start = 0
    private var chunk = [UInt8](repeating: 0, count: 65536)

    /// A connection to `host` (an IPv4 address; `localhost` means 127.0.0.1) on `port`.
    package init(host: String = "127.0.0.1", port: Int) throws {
        self.host = host == "localhost" ? "127.0.0.1" : host
        self.port = UInt16(port)
        try connect()
    }

    deinit { if fd >= 0 { close(fd) } }

    private func connect() throws {
        if fd >= 0 { close(fd) }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchClientError.io("socket") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw BenchClientError.io("not an IPv4 address: \(host)") }
        addr.sin_port = port.bigEndian
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { throw BenchClientError.io("connect") }
        buffer.removeAll(keepingCapacity: true)
        start = 0
    }

    /// POSTs `body` to `path` and returns the status and the response body.
    package func post(_ path: String, body: [UInt8], headers: [(String, String)]) throws -> (status: Int, body: [UInt8]) {
        var head = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        try request.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = write(fd, raw.baseAddress! + sent, raw.count - sent)
                guard n > 0 else { throw BenchClientError.io("write") }
                sent += n
            }
        }
        return try readResponse()
    }

    private func fill() throws {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw BenchClientError.io("connection closed") }
        buffer.append(contentsOf: chunk[0..<n])
    }

    /// The next line's bytes (without CR LF).
    private func line() throws -> ArraySlice<UInt8> {
        while true {
            if let i = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = i
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let out = buffer[start..<end]
                start = i + 1
                return out
            }
            try fill()
        }
    }

    private func bytes(_ count: Int) throws -> [UInt8] {
        while buffer.count - start < count { try fill() }
        let out = Array(buffer[start..<(start + count)])
        start += count
        return out
    }

    /// Whether `header` starts with `name` (ASCII, case-insensitive), returning the rest.
    private static func value(_ header: ArraySlice<UInt8>, _ name: String) -> ArraySlice<UInt8>? {
        let n = Array(name.utf8)
        guard header.count >= n.count else { return nil }
        for (a, b) in zip(header.prefix(n.count), n) where a | 0x20 != b | 0x20 { return nil }
        return header.dropFirst(n.count).drop { $0 == UInt8(ascii: " ") }
    }

    private static func integer(_ digits: ArraySlice<UInt8>, radix: Int = 10) -> Int? {
        var v = 0
        var any = false
        for c in digits {
            let d: Int
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int(c) - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: d = Int(c) - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: d = Int(c) - 55
            default: return any ? v : nil
            }
            v = v * radix + d
            any = true
        }
        return any ? v : nil
    }

    private func readResponse() throws -> (status: Int, body: [UInt8]) {
        let statusLine = try line()
        guard let space = statusLine.firstIndex(of: UInt8(ascii: " ")),
            let status = Self.integer(statusLine[(space + 1)...])
        else { throw BenchClientError.io("bad status line") }
        var length: Int?
        var chunked = false
        while true {
            let h = try line()
            if h.isEmpty { break }
            if let v = Self.value(h, "content-length:") { length = Self.integer(v) }
            if let v = Self.value(h, "transfer-encoding:"), String(decoding: v, as: UTF8.self).lowercased().contains("chunked") { chunked = true }
        }
        if chunked {
            var body: [UInt8] = []
            while true {
                let size = Self.integer(try line(), radix: 16) ?? 0
                if size == 0 {
                    _ = try line()
                    break
                }
                body += try bytes(size)
                _ = try line()
            }
            return (status, body)
        }
        return (status, try bytes(length ?? 0))
    }

    /// Whether `haystack` contains `needle` (bytes).
    package static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}

package enum BenchClientError: Error { case io(String) }
