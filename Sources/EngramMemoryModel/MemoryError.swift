public import EngramPoisoning
public import EngramSecrets

/// Failures of memory operations. Messages are safe to return to the caller:
/// they never contain memory content or the secret that caused a rejection.
public enum MemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No memory with that id is visible to the caller (also used where "forbidden" would leak existence).
    case notFound
    /// The caller's role does not allow the operation.
    case forbidden(String)
    /// Input failed validation.
    case invalid(String)
    /// The content holds a credential; nothing was stored.
    case secretDetected(findings: [Finding])
    /// The poisoning screen blocks the content (instructions planted for assistants); nothing was stored.
    case poisoningDetected(report: PoisonReport)
    /// A dependency (store, embedder) failed.
    case unavailable(String)
    /// The memory changed since the caller read it (e.g. a reviewer approving text that was edited meanwhile).
    case conflict(String)

    public var description: String {
        switch self {
        case .notFound: return "memory not found"
        case let .forbidden(why): return "forbidden: \(why)"
        case let .invalid(why): return "invalid input: \(why)"
        case let .secretDetected(findings): return SecretScanner.rejectionMessage(findings)
        case let .poisoningDetected(report): return report.message
        case let .unavailable(why): return "service unavailable: \(why)"
        case let .conflict(why): return "conflict: \(why)"
        }
    }

    /// A short machine-readable code for API error bodies.
    public var code: String {
        switch self {
        case .notFound: return "not_found"
        case .forbidden: return "forbidden"
        case .invalid: return "invalid_request"
        case .secretDetected: return "secret_detected"
        case .poisoningDetected: return "poisoning_detected"
        case .unavailable: return "unavailable"
        case .conflict: return "conflict"
        }
    }
}
