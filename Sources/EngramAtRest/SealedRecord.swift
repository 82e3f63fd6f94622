/// The identities sealed values are bound to (the additional authenticated data), one place for
/// every reader and writer.
public enum SealedRecord {
    /// A point's payload in the embedded store (the tenant column picks the key).
    public static func point(_ storageKey: String) -> String { "point:" + storageKey }
    /// The key scope of a point: its tenant, or one shared scope for points without one.
    public static func pointTenant(_ tenant: String?) -> String { tenant ?? "" }
}
