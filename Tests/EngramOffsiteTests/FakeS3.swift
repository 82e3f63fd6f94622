import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// A small S3 stand-in on a loopback port, for what moto cannot be made to do: forget to echo the lock,
/// hide an object from HEAD, answer a PUT's condition. It records every request it receives.
actor FakeS3 {
    struct Received: Sendable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: [UInt8]
    }

    struct Stored: Sendable {
        var body: [UInt8]
        var lockMode: String?
        var retainUntil: String?
    }

    /// HEAD echoes the lock headers of stored objects.
    var echoLock = true
    /// Keys HEAD answers 404 for although they are stored (a concurrent writer).
    var hiddenFromHead: Set<String> = []
    /// Every HEAD answers this status when set.
    var headStatus: Int?
    private(set) var objects: [String: Stored] = [:]
    private(set) var received: [Received] = []

    func configure(echoLock: Bool = true, hiddenFromHead: Set<String> = [], headStatus: Int? = nil) {
        self.echoLock = echoLock
        self.hiddenFromHead = hiddenFromHead
        self.headStatus = headStatus
    }

    func store(_ path: String, _ body: [UInt8]) { objects[path] = Stored(body: body) }

    func handle(method: String, path: String, headers: HTTPFields, body: [UInt8]) -> (Int, [String: String], [UInt8]) {
        var flat: [String: String] = [:]
        for field in headers { flat[field.name.canonicalName] = field.value }
        received.append(Received(method: method, path: path, headers: flat, body: body))
        switch method {
        case "HEAD":
            if let headStatus { return (headStatus, [:], []) }
            guard let object = objects[path], !hiddenFromHead.contains(path) else { return (404, [:], []) }
            var answer = ["content-length": "\(object.body.count)", "x-amz-version-id": "v1"]
            if echoLock {
                answer["x-amz-object-lock-mode"] = object.lockMode
                answer["x-amz-object-lock-retain-until-date"] = object.retainUntil
            }
            return (200, answer, [])
        case "PUT":
            if objects[path] != nil, flat["if-none-match"] == "*" {
                return (
                    412, [:],
                    Array(
                        "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>"
                            .utf8
                    )
                )
            }
            objects[path] = Stored(body: body, lockMode: flat["x-amz-object-lock-mode"], retainUntil: flat["x-amz-object-lock-retain-until-date"])
            return (200, ["x-amz-version-id": "v1"], [])
        case "GET":
            guard let object = objects[path] else {
                return (404, [:], Array("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>".utf8))
            }
            return (200, [:], object.body)
        default:
            return (405, [:], [])
        }
    }

    /// Runs `body` with the fake listening on a loopback port (its `http://localhost:PORT` endpoint).
    static func serving<T: Sendable>(_ fake: FakeS3, _ body: @Sendable @escaping (String) async throws -> T) async throws -> T {
        let router = Router()
        for method in [HTTPRequest.Method.head, .put, .get] {
            router.on("**", method: method) { request, _ -> Response in
                let bytes = Array((try await request.body.collect(upTo: 64 << 20)).readableBytesView)
                let (status, headers, answer) = await fake.handle(
                    method: request.method.rawValue,
                    path: request.uri.path,
                    headers: request.headers,
                    body: bytes
                )
                var fields = HTTPFields()
                for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
                return Response(
                    status: .init(code: status),
                    headers: fields,
                    body: method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(bytes: answer))
                )
            }
        }
        // Quiet: the live test server logs its own shutdown as errors.
        var logger = Logger(label: "fake-s3")
        logger.logLevel = .critical
        let app = Application(router: router, logger: logger)
        return try await app.test(.live) { client in
            guard let port = client.port else { throw CancellationError() }
            return try await body("http://localhost:\(port)")
        }
    }
}
