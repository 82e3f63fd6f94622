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
final class BenchHTTPClient: @unchecked Sendable { // each instance is used by one thread at a time
    private var fd: Int32 = -1
    private let port: UInt16
    private var buffer = [UInt8]()
    private var start = 0

    init(port: Int) throws {
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
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { throw BenchClientError.io("connect") }
        buffer.removeAll(keepingCapacity: true)
        start = 0
    }

    /// POSTs `body` to `path` and returns the status and the response body.
    func post(_ path: String, body: [UInt8], headers: [(String, String)]) throws -> (status: Int, body: [UInt8]) {
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: \(body.count)\r\n"
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
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
        guard n > 0 else { throw BenchClientError.io("connection closed") }
        buffer.append(contentsOf: chunk[0..<n])
    }

    private func line() throws -> String {
        while true {
            if let i = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let s = String(decoding: buffer[start..<i], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                start = i + 1
                return s
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

    private func readResponse() throws -> (status: Int, body: [UInt8]) {
        let statusLine = try line()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw BenchClientError.io("bad status line") }
        var length: Int?
        var chunked = false
        while true {
            let h = try line()
            if h.isEmpty { break }
            let lower = h.lowercased()
            if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) }
            if lower.hasPrefix("transfer-encoding:") && lower.contains("chunked") { chunked = true }
        }
        if chunked {
            var body: [UInt8] = []
            while true {
                let size = Int(try line(), radix: 16) ?? 0
                if size == 0 { _ = try line(); break }
                body += try bytes(size)
                _ = try line()
            }
            return (status, body)
        }
        return (status, try bytes(length ?? 0))
    }
}

enum BenchClientError: Error { case io(String) }
