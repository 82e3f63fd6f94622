import Foundation

/// The S3-compatible service: its base URL and region. Requests are path-style
/// (`https://host[:port]/bucket/key`), which AWS, MinIO, Ceph, Garage and moto all answer, so a bucket
/// name never has to be a DNS label of the endpoint.
public struct S3Endpoint: Sendable, Equatable {
    /// `http` or `https`.
    public let scheme: String
    /// The signing region (`us-east-1`, `eu-central-1`, or what the provider documents).
    public let region: String
    /// The `Host` header and its signed value: the host, with the port when it is not the scheme's default.
    let host: String

    /// `url`: `http(s)://host[:port]`; nil means AWS's regional endpoint `https://s3.REGION.amazonaws.com`.
    public init(url: String?, region: String) throws(OffsiteError) {
        guard !region.isEmpty, region.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw .invalidSettings("region \"\(region)\" is not a region name")
        }
        let text = url ?? "https://s3.\(region).amazonaws.com"
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let hostName = components.host, !hostName.isEmpty,
            components.path.isEmpty || components.path == "/", components.query == nil, components.user == nil,
            components.password == nil
        else {
            throw .invalidSettings("endpoint \(text) must be http(s)://host[:port] with no path, query or credentials")
        }
        let defaultPort = scheme == "https" ? 443 : 80
        let hostText = hostName.contains(":") && !hostName.hasPrefix("[") ? "[\(hostName)]" : hostName  // an IPv6 literal
        self.scheme = scheme
        self.region = region
        self.host = components.port.map { $0 == defaultPort ? hostText : "\(hostText):\($0)" } ?? hostText
    }

    /// The request path of an object, already encoded: `/bucket/key` (the same text is signed).
    func path(bucket: String, key: String) -> String {
        "/" + S3URIEncoding.encode(bucket, keepSlash: false) + "/" + S3URIEncoding.encode(key, keepSlash: true)
    }

    /// `scheme://host[:port]`, as the endpoint is used.
    public var baseURL: String { "\(scheme)://\(host)" }

    /// The absolute URL of an object.
    func url(bucket: String, key: String) -> String {
        baseURL + path(bucket: bucket, key: key)
    }
}
