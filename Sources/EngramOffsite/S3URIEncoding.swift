/// S3's `UriEncode`: every byte of the UTF-8 form except the unreserved characters `A–Z a–z 0–9 - . _ ~`
/// becomes `%XY` (upper-case hex); `/` is kept in object keys (paths) and encoded elsewhere.
///
/// The same text goes into the request line and into the canonical request, so the key the server decodes
/// is the key that was signed. (Foundation's `addingPercentEncoding` keeps `!$&'()*+,;=:@`, which
/// SigV4 requires encoded.)
enum S3URIEncoding {
    static func encode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.append(Hex.upper[Int(byte >> 4)])
                out.append(Hex.upper[Int(byte & 0x0F)])
            }
        }
        return out
    }
}
