import Foundation

/// Builds the signed requests `S3ObjectClient` sends, without sending them: the three verbs it knows, the
/// path-style URL, and every header, signed at the clock's time.
struct S3Requests: Sendable {
    /// The requests the off-site client makes. There is deliberately no other verb.
    enum Verb: String, CaseIterable, Sendable {
        case head = "HEAD"
        case put = "PUT"
        case get = "GET"
    }

    /// A signed request, ready to send.
    struct Prepared: Sendable {
        var verb: Verb
        var url: String
        /// Lower-case names and values, `authorization` included.
        var headers: [(name: String, value: String)]

        func value(_ name: String) -> String? { headers.first { $0.name == name }?.value }
    }

    /// The hex SHA-256 of an empty body.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    let endpoint: S3Endpoint
    let signer: SignatureV4
    let clock: @Sendable () -> Date

    init(endpoint: S3Endpoint, credentials: OffsiteCredentials, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.endpoint = endpoint
        signer = SignatureV4(credentials: credentials, region: endpoint.region)
        self.clock = clock
    }

    /// The PUT of a new locked object. `If-None-Match: *` and the lock headers are not optional, and every
    /// header the lock depends on is signed, so none can be changed or dropped in flight.
    func preparePut(bucket: String, key: String, digest: FileDigest, retention: ObjectLockRetention) -> Prepared {
        prepare(
            .put,
            bucket: bucket,
            key: key,
            headers: [
                "content-md5": digest.md5Base64,
                "if-none-match": "*",
                "x-amz-object-lock-mode": ObjectLockRetention.mode,
                "x-amz-object-lock-retain-until-date": retention.headerValue,
            ],
            payloadHash: digest.sha256
        )
    }

    /// Signs a request for `key`, with `host` among the signed headers.
    func prepare(_ verb: Verb, bucket: String, key: String, headers: [String: String], payloadHash: String) -> Prepared {
        var signedHeaders = headers
        signedHeaders["host"] = endpoint.host
        let signed = signer.sign(
            method: verb.rawValue,
            path: endpoint.path(bucket: bucket, key: key),
            headers: signedHeaders,
            payloadHash: payloadHash,
            date: clock()
        )
        return Prepared(verb: verb, url: endpoint.url(bucket: bucket, key: key), headers: signed.headers)
    }
}
