/// The service version reported to clients.
public enum EngramVersion {
    public static let current = "0.1.0"
}
