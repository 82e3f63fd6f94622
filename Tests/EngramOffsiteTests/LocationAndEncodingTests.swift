import Foundation
import Testing

@testable import EngramOffsite

/// `s3://bucket/prefix` parsing, S3's URI encoding of keys, path-style URLs and the endpoint settings.
@Suite struct LocationAndEncodingTests {
    @Test func uriEncodingKeepsOnlyUnreservedCharacters() {
        #expect(S3URIEncoding.encode("test$file.text", keepSlash: true) == "test%24file.text")
        #expect(S3URIEncoding.encode("A-z_0.9~", keepSlash: false) == "A-z_0.9~")
        #expect(S3URIEncoding.encode("a b+c", keepSlash: false) == "a%20b%2Bc")
        #expect(S3URIEncoding.encode("!'()*=&?#:@,;", keepSlash: false) == "%21%27%28%29%2A%3D%26%3F%23%3A%40%2C%3B")
        #expect(S3URIEncoding.encode("ключ", keepSlash: false) == "%D0%BA%D0%BB%D1%8E%D1%87")
        #expect(S3URIEncoding.encode("100%", keepSlash: false) == "100%25")
        #expect(S3URIEncoding.encode("a/b", keepSlash: true) == "a/b")
        #expect(S3URIEncoding.encode("a/b", keepSlash: false) == "a%2Fb")
    }

    @Test func locationsParse() throws {
        let root = try OffsiteLocation(parsing: "s3://engram-backups")
        #expect(root.bucket == "engram-backups" && root.prefix.isEmpty)
        #expect(root.key("manifest.json") == "manifest.json")
        let nested = try OffsiteLocation(parsing: "s3://engram.backups/team/prod/")
        #expect(nested.bucket == "engram.backups" && nested.prefix == "team/prod")
        #expect(nested.key("engram.sqlite") == "team/prod/engram.sqlite")
        #expect(nested.description == "s3://engram.backups/team/prod")
        let folder = try nested.appending("backup-20261124-013000")
        #expect(folder.description == "s3://engram.backups/team/prod/backup-20261124-013000")
        #expect(folder.key("manifest.json") == "team/prod/backup-20261124-013000/manifest.json")
    }

    @Test(arguments: [
        "https://bucket/prefix", "s3://", "s3://ab", "s3://Upper-Case", "s3://under_score", "s3://-leading", "s3://trailing-",
        "s3://two..dots", "s3://bucket/a//b", "s3://bucket/a/../b", "s3://bucket/./a", "s3://bucket/tab\there",
        "s3://" + String(repeating: "b", count: 64),
    ])
    func badLocationsAreRefused(_ text: String) {
        #expect(throws: OffsiteError.self) { try OffsiteLocation(parsing: text) }
    }

    @Test func aKeyLongerThanS3AllowsIsRefused() {
        #expect(throws: OffsiteError.self) { try OffsiteLocation(parsing: "s3://bucket/" + String(repeating: "k", count: 1025)) }
    }

    @Test func requestsArePathStyle() throws {
        let moto = try S3Endpoint(url: "http://127.0.0.1:5000", region: "us-east-1")
        #expect(moto.host == "127.0.0.1:5000")
        #expect(moto.url(bucket: "backups", key: "p/backup-1/engram.sqlite") == "http://127.0.0.1:5000/backups/p/backup-1/engram.sqlite")
        #expect(moto.path(bucket: "backups", key: "a b/c+d") == "/backups/a%20b/c%2Bd")
        let aws = try S3Endpoint(url: nil, region: "eu-central-1")
        #expect(aws.baseURL == "https://s3.eu-central-1.amazonaws.com")
        #expect(aws.host == "s3.eu-central-1.amazonaws.com")
        let defaultPort = try S3Endpoint(url: "https://minio.internal:443/", region: "us-east-1")
        #expect(defaultPort.host == "minio.internal", "the scheme's default port is not part of the Host header")
    }

    @Test(arguments: [
        "ftp://host", "http://", "https://host/bucket", "https://host?x=1", "https://user:pass@host", "not a url",
    ])
    func badEndpointsAreRefused(_ url: String) {
        #expect(throws: OffsiteError.self) { try S3Endpoint(url: url, region: "us-east-1") }
    }

    @Test func badRegionsAreRefused() {
        #expect(throws: OffsiteError.self) { try S3Endpoint(url: nil, region: "") }
        #expect(throws: OffsiteError.self) { try S3Endpoint(url: nil, region: "us-east-1/evil") }
    }

    @Test func credentialsNeverPrintTheirSecret() throws {
        let secret = AWSExampleKeys.secretAccessKey
        let credentials = try OffsiteCredentials(accessKeyID: AWSExampleKeys.accessKeyID, secretAccessKey: secret)
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), dumped] {
            #expect(!text.contains(secret))
            #expect(text.contains(AWSExampleKeys.accessKeyID))
        }
        #expect(throws: OffsiteError.self) { try OffsiteCredentials(accessKeyID: "", secretAccessKey: secret) }
        #expect(throws: OffsiteError.self) { try OffsiteCredentials(accessKeyID: "AKIA", secretAccessKey: "has space") }
    }
}
