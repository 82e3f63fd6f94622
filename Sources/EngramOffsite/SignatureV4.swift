import Crypto
public import Foundation

/// AWS Signature Version 4 for S3, header-based, with a signed payload hash.
///
/// - Canonical request: method, canonical URI (the encoded path, as sent), canonical query, the signed
///   headers as `name:value` lines (lower-case names, values trimmed and inner runs of spaces folded, sorted
///   by name), the signed header names joined by `;`, and the payload's hex SHA-256.
/// - String to sign: `AWS4-HMAC-SHA256`, the `x-amz-date` timestamp, the scope `day/region/s3/aws4_request`,
///   the hex SHA-256 of the canonical request.
/// - Signing key: HMAC-SHA256 chained from `"AWS4" + secret` over the day, the region, `s3` and
///   `aws4_request`; the signature is the hex HMAC of the string to sign under it.
///
/// Checked against the worked examples of Amazon S3's API reference ("Signature Calculations for the
/// Authorization Header: Transferring Payload in a Single Chunk") in `SignatureV4Tests`.
public struct SignatureV4: Sendable {
    public let credentials: OffsiteCredentials
    public let region: String
    public let service = "s3"

    public init(credentials: OffsiteCredentials, region: String) {
        self.credentials = credentials
        self.region = region
    }

    /// A signed request's parts: the headers to send (the caller's, `x-amz-date`, `x-amz-content-sha256`
    /// and `authorization`) and the intermediate texts, for tests and diagnosis.
    public struct Signed: Sendable {
        /// Header names in lower case, sorted, with their values.
        public var headers: [(name: String, value: String)]
        public var canonicalRequest: String
        public var stringToSign: String
        public var signedHeaders: String
        public var signature: String
        public var authorization: String
    }

    /// Signs a request. `path` is the encoded path as it goes on the request line, `query` the encoded
    /// query pairs, `headers` every header to sign (`host` included), `payloadHash` the hex SHA-256 of the
    /// body (sent as `x-amz-content-sha256`, as S3 requires).
    public func sign(
        method: String,
        path: String,
        query: [(String, String)] = [],
        headers: [String: String],
        payloadHash: String,
        date: Date
    ) -> Signed {
        let (timestamp, day) = Self.timestamp(date)
        var all: [String: String] = [:]
        for (name, value) in headers { all[name.lowercased()] = Self.canonicalValue(value) }
        all["x-amz-date"] = timestamp
        all["x-amz-content-sha256"] = payloadHash
        let sorted = all.sorted { $0.key < $1.key }
        let signedHeaders = sorted.map(\.key).joined(separator: ";")
        let canonicalRequest = [
            method,
            path,
            Self.canonicalQuery(query),
            sorted.map { "\($0.key):\($0.value)\n" }.joined(),
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", timestamp, scope, Hex.lowercase(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let signature = Hex.lowercase(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope),SignedHeaders=\(signedHeaders),Signature=\(signature)"
        return Signed(
            headers: sorted.map { ($0.key, $0.value) } + [("authorization", authorization)],
            canonicalRequest: canonicalRequest,
            stringToSign: stringToSign,
            signedHeaders: signedHeaders,
            signature: signature,
            authorization: authorization
        )
    }

    /// The key for one day: HMAC-SHA256 chained over day, region, service and `aws4_request`.
    func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// `yyyyMMdd'T'HHmmss'Z'` and `yyyyMMdd` in UTC.
    static func timestamp(_ date: Date) -> (timestamp: String, day: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let pairs: [String] = [c.month, c.day, c.hour, c.minute, c.second].map { (part: Int?) -> String in
            let n = part ?? 0
            return n < 10 ? "0" + String(n) : String(n)
        }
        let day: String = String(c.year ?? 1970) + pairs[0] + pairs[1]
        let time: String = pairs[2] + pairs[3] + pairs[4]
        return (day + "T" + time + "Z", day)
    }

    /// A header value as signed: trimmed, inner runs of spaces folded to one.
    static func canonicalValue(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Query pairs encoded and sorted by name, then value: `a=1&b=2` (an empty value keeps its `=`).
    static func canonicalQuery(_ pairs: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = pairs.map { pair in
            (S3URIEncoding.encode(pair.0, keepSlash: false), S3URIEncoding.encode(pair.1, keepSlash: false))
        }
        let sorted = encoded.sorted { (a: (name: String, value: String), b: (name: String, value: String)) -> Bool in
            a.name == b.name ? a.value < b.value : a.name < b.name
        }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }
}
