/// What can go wrong with an off-site copy, as one typed error: callers never see HTTP types.
///
/// Descriptions name the bucket and key (never a credential, a signature or a request header) so they can
/// be printed and logged as they are.
public enum OffsiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `--offsite` is not `s3://bucket[/prefix]`, or names an invalid bucket or key.
    case invalidLocation(String)
    /// The endpoint, region, credentials or retention cannot be used.
    case invalidSettings(String)
    /// An object already holds this key: the copy is append-only, so nothing was sent.
    case objectExists(key: String)
    /// The server stored the object but did not confirm the compliance-mode lock and retention date.
    case lockNotConfirmed(key: String, detail: String)
    /// The object is not there.
    case notFound(key: String)
    /// The server refused the request (`AccessDenied`, `PreconditionFailed`, …).
    case refused(operation: String, key: String, status: Int, code: String?, message: String?)
    /// The server could not be reached or the transfer broke off.
    case transport(operation: String, key: String, detail: String)
    /// A downloaded object differs from what was expected (size or SHA-256).
    case integrity(key: String, detail: String)
    /// A local file could not be read or written.
    case file(path: String, detail: String)

    public var description: String {
        switch self {
        case .invalidLocation(let detail): return "invalid off-site location: \(detail)"
        case .invalidSettings(let detail): return "invalid off-site settings: \(detail)"
        case .objectExists(let key): return "\(key) already exists off-site; the off-site copy never overwrites an object"
        case .lockNotConfirmed(let key, let detail): return "\(key): the server did not confirm the compliance lock (\(detail))"
        case .notFound(let key): return "\(key) is not in the off-site bucket"
        case .refused(let operation, let key, let status, let code, let message):
            let reason = [code, message].compactMap { $0 }.joined(separator: ": ")
            return "\(operation) \(key) refused with HTTP \(status)\(reason.isEmpty ? "" : " (\(reason))")"
        case .transport(let operation, let key, let detail): return "\(operation) \(key) failed: \(detail)"
        case .integrity(let key, let detail): return "\(key) does not match: \(detail)"
        case .file(let path, let detail): return "\(path): \(detail)"
        }
    }
}
