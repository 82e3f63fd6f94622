/// The access key the server signs its requests with.
///
/// The secret never appears in a description, a debug description or a mirror (`dump`, string
/// interpolation, `Logger` metadata), only the access key id, which is an identifier.
public struct OffsiteCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let accessKeyID: String
    let secretAccessKey: String

    public init(accessKeyID: String, secretAccessKey: String) throws(OffsiteError) {
        guard !accessKeyID.isEmpty, !secretAccessKey.isEmpty else {
            throw .invalidSettings("both an access key id and a secret access key are needed")
        }
        let printable = { (text: String) in text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F } }
        guard printable(accessKeyID), printable(secretAccessKey) else {
            throw .invalidSettings("the access key id and secret may hold only printable ASCII without spaces")
        }
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }

    public var description: String { "access key \(accessKeyID) (secret hidden)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["accessKeyID": accessKeyID]) }
}
