import Foundation
import Testing

@testable import EngramOffsite

/// SigV4 against the worked examples of Amazon S3's API reference, "Signature Calculations for the
/// Authorization Header: Transferring Payload in a Single Chunk (AWS Signature Version 4)"
/// (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html): access key
/// and secret as in `AWSExampleKeys`, us-east-1, 2013-05-24T00:00:00Z.
/// The GET Object example's canonical request, string to sign and signature are quoted from a copy of that
/// page; the PUT Object and List Objects signatures from independent implementations' tests of the same
/// examples; all three were recomputed with botocore's `S3SigV4Auth` before being written here.
@Suite struct SignatureV4Tests {
    static let credentials = try! OffsiteCredentials(
        accessKeyID: AWSExampleKeys.accessKeyID,
        secretAccessKey: AWSExampleKeys.secretAccessKey
    )
    static let signer = SignatureV4(credentials: credentials, region: "us-east-1")
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @Test func getObjectExample() {
        let signed = Self.signer.sign(
            method: "GET",
            path: "/test.txt",
            headers: ["Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9"],
            payloadHash: Self.emptyHash,
            date: Self.date
        )
        #expect(
            signed.canonicalRequest == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """
        )
        #expect(
            signed.stringToSign == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
                """
        )
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=" + AWSExampleKeys.accessKeyID + "/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    /// The PUT example: the key `test$file.text` is signed as `/test%24file.text`, the payload is
    /// "Welcome to Amazon S3." and `Date` and `x-amz-storage-class` are signed too.
    @Test func putObjectExample() {
        let payloadHash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        let signed = Self.signer.sign(
            method: "PUT",
            path: "/" + S3URIEncoding.encode("test$file.text", keepSlash: true),
            headers: [
                "Host": "examplebucket.s3.amazonaws.com",
                "Date": "Fri, 24 May 2013 00:00:00 GMT",
                "x-amz-storage-class": "REDUCED_REDUNDANCY",
            ],
            payloadHash: payloadHash,
            date: Self.date
        )
        #expect(signed.canonicalRequest.hasPrefix("PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"))
        #expect(signed.signedHeaders == "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class")
        #expect(signed.stringToSign.hasSuffix("\n9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"))
        #expect(signed.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    /// The List Objects example: a query (`max-keys=2&prefix=J`), sorted by name.
    @Test func listObjectsExampleWithAQuery() {
        let signed = Self.signer.sign(
            method: "GET",
            path: "/",
            query: [("prefix", "J"), ("max-keys", "2")],
            headers: ["host": "examplebucket.s3.amazonaws.com"],
            payloadHash: Self.emptyHash,
            date: Self.date
        )
        #expect(signed.canonicalRequest.hasPrefix("GET\n/\nmax-keys=2&prefix=J\n"))
        #expect(signed.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func aDifferentSecretRegionOrDayGivesADifferentSignature() throws {
        func signature(_ signer: SignatureV4, _ date: Date = Self.date) -> String {
            signer.sign(method: "GET", path: "/test.txt", headers: ["host": "h"], payloadHash: Self.emptyHash, date: date).signature
        }
        let base = signature(Self.signer)
        let otherSecret = try OffsiteCredentials(accessKeyID: AWSExampleKeys.accessKeyID, secretAccessKey: "another-secret")
        #expect(signature(SignatureV4(credentials: otherSecret, region: "us-east-1")) != base)
        #expect(signature(SignatureV4(credentials: Self.credentials, region: "eu-west-1")) != base)
        #expect(signature(Self.signer, Self.date.addingTimeInterval(86_400)) != base)
    }

    @Test func headerValuesAreTrimmedAndTheirSpacesFolded() {
        #expect(SignatureV4.canonicalValue("  a   b  c ") == "a b c")
        #expect(SignatureV4.canonicalValue("value") == "value")
    }

    @Test func timestampsAreUTC() {
        let (timestamp, day) = SignatureV4.timestamp(Date(timeIntervalSince1970: 1_798_761_599))  // 2026-12-31T23:59:59Z
        #expect(timestamp == "20261231T235959Z")
        #expect(day == "20261231")
    }

    /// Every header the lock depends on is signed, so none can be changed or dropped in flight.
    @Test func theLockHeadersOfAnUploadAreSigned() throws {
        let endpoint = try S3Endpoint(url: "http://127.0.0.1:9000", region: "us-east-1")
        let client = S3Requests(endpoint: endpoint, credentials: Self.credentials, clock: { Self.date })
        let digest = FileDigest(
            bytes: 21,
            sha256: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            md5Base64: "1EfQ6PKJ8WoS/2AnznfCWA=="
        )
        let retention = ObjectLockRetention(retainUntil: Date(timeIntervalSince1970: 1_799_107_200))  // 2027-01-05
        let put = client.preparePut(bucket: "backups", key: "engram/backup-20261124-013000/engram.sqlite", digest: digest, retention: retention)
        let authorization = try #require(put.value("authorization"))
        #expect(
            authorization.contains(
                "SignedHeaders=content-md5;host;if-none-match;x-amz-content-sha256;x-amz-date;x-amz-object-lock-mode;x-amz-object-lock-retain-until-date,"
            )
        )
        let later = client.preparePut(
            bucket: "backups",
            key: "engram/backup-20261124-013000/engram.sqlite",
            digest: digest,
            retention: ObjectLockRetention(retainUntil: Date(timeIntervalSince1970: 1_799_193_600))
        )
        #expect(later.value("authorization") != authorization, "the retain-until date is part of the signature")
    }
}
