package import EngramOffsite

/// The settings of the off-site copy (`engram backup --offsite`, `engram restore --offsite`).
extension EngramConfiguration {
    /// The S3-compatible service and the key to sign with: `ENGRAM_OFFSITE_ENDPOINT` (else AWS's regional
    /// endpoint), `ENGRAM_OFFSITE_REGION` (else `us-east-1`), `ENGRAM_OFFSITE_ACCESS_KEY_ID` and
    /// `ENGRAM_OFFSITE_SECRET_ACCESS_KEY` (both required). Errors name the variable, never the secret.
    package func offsiteService() throws -> (endpoint: S3Endpoint, credentials: OffsiteCredentials) {
        guard let keyID = self[.offsiteAccessKeyID], let secret = self[.offsiteSecretAccessKey] else {
            throw Invalid(
                "--offsite needs ENGRAM_OFFSITE_ACCESS_KEY_ID and ENGRAM_OFFSITE_SECRET_ACCESS_KEY "
                    + "(a key that may put and get objects, and never delete them)"
            )
        }
        do {
            let endpoint = try S3Endpoint(url: self[.offsiteEndpoint], region: self[.offsiteRegion] ?? "us-east-1")
            return (endpoint, try OffsiteCredentials(accessKeyID: keyID, secretAccessKey: secret))
        } catch {
            throw Invalid("ENGRAM_OFFSITE_*: \(error)")
        }
    }
}
