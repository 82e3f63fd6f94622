/// The minimum strength of a password: checked when it is set (invitation, reset, change, CLI),
/// never when it is verified. The rules follow NIST SP 800-63B: length over composition, and a
/// refusal of passwords known to be common or built from the user id.
public enum PasswordPolicy {
    /// Fewest characters.
    public static let minimumCharacters = 12
    /// Most UTF-8 bytes: bcrypt reads 72, a longer password would be cut without notice.
    public static let maximumBytes = 72
    /// Fewest distinct characters (refuses `aaaaaaaaaaaa` and `abababababab`).
    public static let minimumDistinct = 6

    /// Why `password` is refused for `userId`, or nil when it is acceptable. The message never
    /// repeats the password.
    public static func problem(_ password: String, userId: String) -> String? {
        if password.count < minimumCharacters { return "a password needs at least \(minimumCharacters) characters" }
        if password.utf8.count > maximumBytes { return "a password may have at most \(maximumBytes) bytes" }
        if Set(password).count < minimumDistinct { return "a password needs at least \(minimumDistinct) different characters" }
        let lower = password.lowercased()
        if !userId.isEmpty, userId.count >= 3, lower.contains(userId.lowercased()) { return "a password must not contain the user id" }
        let core = String(lower.filter { $0.isLetter })
        if common.contains(lower) || common.contains(core) || sequences.contains(where: { lower.contains($0) }) {
            return "this password is too common"
        }
        return nil
    }

    /// Passwords at the top of every breach list, and their letter cores (`Password123!` → `password`).
    static let common: Set<String> = [
        "password", "passwordpassword", "qwertyuiop", "qwertyuiopasdf", "iloveyou", "letmein", "welcome", "admin", "administrator",
        "changeme", "trustno", "football", "baseball", "monkey", "dragon", "sunshine", "princess", "superman", "master", "shadow",
        "abcdefghijkl", "passw", "secret", "engram", "correcthorsebatterystaple", "qwerty", "azerty", "login", "starwars",
    ]
    /// Keyboard and counting runs that make a long password weak.
    static let sequences: [String] = ["123456789", "987654321", "qwertyui", "asdfghjk", "zxcvbnm", "abcdefgh", "password"]
}
