import AsyncHTTPClient
import Crypto
public import Foundation
import NIOCore
import NIOFileSystem
import NIOHTTP1

/// A deliberately small S3 client for the off-site copy: HEAD an object, PUT a *new* object under a
/// compliance-mode Object Lock, GET an object into a new file. Nothing else.
///
/// No AWS SDK for Swift is among the packages this project can install (neither Soto nor aws-sdk-swift is
/// in our mirrors), so the three requests are written here on AsyncHTTPClient and signed (SigV4) with
/// swift-crypto. There is no delete, no retention or versioning call and no way to PUT without
/// `If-None-Match: *`: the copy is append-only by what this code can send, not only by the policy of its
/// credentials (`AppendOnlyTests` holds the module to that).
///
/// The HTTP client belongs to this object: call `shutdown()` when done.
public final class S3ObjectClient: Sendable {
    /// S3's limit for one PUT (larger objects need a multipart upload, which this client does not make).
    public static let maximumObjectBytes: Int64 = 5 * 1024 * 1024 * 1024
    /// The largest error body read (S3's XML errors are a few hundred bytes).
    static let maximumErrorBytes = 64 * 1024

    /// The service this client talks to.
    public var endpoint: S3Endpoint { requests.endpoint }
    let requests: S3Requests
    let client: HTTPClient
    let deadline: TimeAmount

    /// `readTimeout` bounds each wait for the server; `deadline` a whole request (a 5 GiB upload included).
    public init(
        endpoint: S3Endpoint,
        credentials: OffsiteCredentials,
        connectTimeout: Duration = .seconds(10),
        readTimeout: Duration = .seconds(120),
        deadline: Duration = .seconds(24 * 3600),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        requests = S3Requests(endpoint: endpoint, credentials: credentials, clock: clock)
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: Self.amount(connectTimeout), read: Self.amount(readTimeout))
        )
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.deadline = Self.amount(deadline)
    }

    /// Shuts the HTTP client down; no request is made afterwards.
    public func shutdown() async {
        try? await client.shutdown()
    }

    // MARK: - The three requests

    /// HEAD: what the server holds under `key`, or nil when it holds nothing (404).
    ///
    /// A caller without `s3:ListBucket` gets 403 instead of 404 for a missing key (S3 does not tell it
    /// which), which is reported as `refused`.
    public func head(bucket: String, key: String) async throws(OffsiteError) -> ObjectHead? {
        let request = requests.prepare(.head, bucket: bucket, key: key, headers: [:], payloadHash: S3Requests.emptyPayloadHash)
        return try await perform("HEAD", key: key) {
            let response = try await self.client.execute(self.httpRequest(request), timeout: self.deadline)
            switch response.status.code {
            case 200:
                let h = response.headers
                return ObjectHead(
                    contentLength: h.first(name: "content-length").flatMap { Int64($0) },
                    lockMode: h.first(name: "x-amz-object-lock-mode"),
                    retainUntilText: h.first(name: "x-amz-object-lock-retain-until-date"),
                    versionID: h.first(name: "x-amz-version-id"),
                    etag: h.first(name: "etag")
                )
            case 404:
                return nil
            default:
                throw OffsiteError.refused(operation: "HEAD", key: key, status: Int(response.status.code), code: nil, message: nil)
            }
        }
    }

    /// PUT `file` under `key` as a new object, locked in compliance mode until `retention`'s date.
    ///
    /// The request always carries `If-None-Match: *` (a server with conditional writes refuses it when
    /// the key exists), `Content-MD5` and `x-amz-content-sha256` (the server checks the bytes against
    /// both), and the lock headers. The body streams from the file with its length known.
    /// Returns the version id the server gave, if any.
    @discardableResult
    public func putNewObject(
        from file: URL,
        digest: FileDigest,
        bucket: String,
        key: String,
        retention: ObjectLockRetention
    ) async throws(OffsiteError) -> String? {
        guard digest.bytes <= Self.maximumObjectBytes else {
            throw .file(path: file.path, detail: "\(digest.bytes) bytes is over S3's 5 GiB limit for one PUT")
        }
        let request = requests.preparePut(bucket: bucket, key: key, digest: digest, retention: retention)
        return try await perform("PUT", key: key) {
            try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(file.path)) { handle in
                var http = self.httpRequest(request)
                http.body = .stream(handle.readChunks(chunkLength: .mebibytes(1)), length: .known(digest.bytes))
                let response = try await self.client.execute(http, timeout: self.deadline)
                let status = Int(response.status.code)
                if (200..<300).contains(status) {
                    _ = try? await response.body.collect(upTo: Self.maximumErrorBytes)
                    return response.headers.first(name: "x-amz-version-id")
                }
                let (code, message) = Self.errorDetail(try await response.body.collect(upTo: Self.maximumErrorBytes))
                if status == 412 || code == "PreconditionFailed" { throw OffsiteError.objectExists(key: key) }
                throw OffsiteError.refused(operation: "PUT", key: key, status: status, code: code, message: message)
            }
        }
    }

    /// GET `key` into `file`, which must not exist (it is created 0600, and only when the whole body
    /// arrived). Stops with `integrity` when the body grows past `maximumBytes`. Returns the size and
    /// SHA-256 of what was written.
    public func download(bucket: String, key: String, to file: URL, maximumBytes: Int64) async throws(OffsiteError) -> FileDigest {
        guard !FileManager.default.fileExists(atPath: file.path) else { throw .file(path: file.path, detail: "already exists") }
        let request = requests.prepare(.get, bucket: bucket, key: key, headers: [:], payloadHash: S3Requests.emptyPayloadHash)
        return try await perform("GET", key: key) {
            let response = try await self.client.execute(self.httpRequest(request), timeout: self.deadline)
            let status = Int(response.status.code)
            guard status == 200 else {
                let (code, message) = Self.errorDetail(try await response.body.collect(upTo: Self.maximumErrorBytes))
                if status == 404 { throw OffsiteError.notFound(key: key) }
                throw OffsiteError.refused(operation: "GET", key: key, status: status, code: code, message: message)
            }
            let options = OpenOptions.Write.newFile(replaceExisting: false, permissions: .ownerReadWrite)
            return try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(file.path), options: options) { handle in
                var writer = handle.bufferedWriter()
                var sha = SHA256()
                var md5 = Insecure.MD5()
                var bytes: Int64 = 0
                for try await chunk in response.body {
                    bytes += Int64(chunk.readableBytes)
                    guard bytes <= maximumBytes else {
                        throw OffsiteError.integrity(key: key, detail: "longer than the expected \(maximumBytes) bytes")
                    }
                    chunk.withUnsafeReadableBytes { raw in
                        sha.update(bufferPointer: raw)
                        md5.update(bufferPointer: raw)
                    }
                    try await writer.write(contentsOf: chunk)
                }
                try await writer.flush()
                return FileDigest(bytes: bytes, sha256: Hex.lowercase(sha.finalize()), md5Base64: Data(md5.finalize()).base64EncodedString())
            }
        }
    }

    // MARK: - Building and sending

    func httpRequest(_ prepared: S3Requests.Prepared) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: prepared.url)
        request.method = HTTPMethod(rawValue: prepared.verb.rawValue)
        for (name, value) in prepared.headers { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }

    /// Runs one request, turning every failure that is not already an `OffsiteError` into `transport`.
    func perform<T>(_ operation: String, key: String, _ body: () async throws -> T) async throws(OffsiteError) -> T {
        do {
            return try await body()
        } catch let error as OffsiteError {
            throw error
        } catch let error as HTTPClientError {
            throw .transport(operation: operation, key: key, detail: "\(error)")
        } catch {
            throw .transport(operation: operation, key: key, detail: String(describing: error))
        }
    }

    /// The `<Code>` and `<Message>` of an S3 XML error body.
    static func errorDetail(_ body: ByteBuffer) -> (code: String?, message: String?) {
        let text = String(buffer: body)
        func element(_ name: String) -> String? {
            guard let start = text.range(of: "<\(name)>"), let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex)
            else { return nil }
            let value = String(text[start.upperBound..<end.lowerBound])
            return value.count <= 300 ? value : String(value.prefix(300)) + "…"
        }
        return (element("Code"), element("Message"))
    }

    static func amount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
