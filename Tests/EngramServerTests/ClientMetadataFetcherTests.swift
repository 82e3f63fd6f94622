import EngramAccounts
import EngramHTTPEdge
import EngramMemory
import Foundation
import Synchronization
import Testing

@testable import EngramServer

/// Which addresses a client metadata URL may lead the server to, and that a refused address is never
/// connected to (the fetcher answers before any connection attempt).
@Suite struct ClientMetadataFetcherTests {
    @Test func onlyPublicUnicastAddressesArePermitted() {
        let policy = OutboundAddressPolicy.publicOnly
        for refused in [
            "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
            "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.10", "198.18.0.1", "::1", "::", "fd00::1", "fe80::1", "ff02::1",
            "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:c0a8:101::1", "2001:db8::1", "not-an-address",
        ] {
            #expect(!policy.permits(host: "client.example", address: refused), "\(refused)")
        }
        for permitted in ["93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "64:ff9b::808:808", "::ffff:1.1.1.1"] {
            #expect(policy.permits(host: "client.example", address: permitted), "\(permitted)")
        }
    }

    @Test func theAllowListNamesHostsAndNetworks() throws {
        let policy = try OutboundAddressPolicy(parsing: "clients.corp.example, 10.20.0.0/16, ::1")
        #expect(policy.permits(host: "clients.corp.example", address: "10.9.9.9"))
        #expect(policy.permits(host: "other.example", address: "10.20.3.4"))
        #expect(!policy.permits(host: "other.example", address: "10.21.3.4"))
        #expect(policy.permits(host: "other.example", address: "::1"))
        #expect(!policy.permits(host: "other.example", address: "127.0.0.1"))
        #expect(throws: OutboundAddressPolicy.InvalidEntry.self) { try OutboundAddressPolicy(parsing: "10.0.0.0/99") }
        #expect(throws: OutboundAddressPolicy.InvalidEntry.self) { try OutboundAddressPolicy(parsing: "bad host/x") }
    }

    /// Answers every name with the scripted addresses and counts lookups.
    final class ScriptedResolver: HostResolving {
        let answers: [String]
        let lookups = Mutex(0)
        init(answers: [String]) { self.answers = answers }
        func addresses(of host: String) async throws -> [String] {
            lookups.withLock { $0 += 1 }
            return answers
        }
    }

    @Test func aNameResolvingToAPrivateAddressIsRefusedBeforeConnecting() async throws {
        // One public and one private answer (a rebinding attacker's mix): refused. The reason proves no
        // connection was tried: a connection to these would end as "timed out" or "connection failed".
        for answers in [["10.255.255.1"], ["93.184.215.14", "10.255.255.1"], ["169.254.169.254"], ["::1"]] {
            let resolver = ScriptedResolver(answers: answers)
            let fetcher = try HTTPSClientMetadataFetcher(policy: .publicOnly, resolver: resolver, timeout: .seconds(30))
            do {
                _ = try await fetcher.fetch(URL(string: "https://evil.example/meta.json")!, limit: 5120)
                Issue.record("fetched \(answers)")
            } catch let error as ClientMetadataFetchError {
                #expect(error.reason.contains("private"), "\(answers): \(error.reason)")
            }
            #expect(resolver.lookups.withLock { $0 } == 1)
        }
        // An address literal is judged without a lookup.
        let resolver = ScriptedResolver(answers: ["93.184.215.14"])
        let fetcher = try HTTPSClientMetadataFetcher(policy: .publicOnly, resolver: resolver)
        for literal in ["https://127.0.0.1:9/m.json", "https://[::1]:9/m.json", "https://[::ffff:7f00:1]/m.json", "https://169.254.169.254/latest/x"]
        {
            await #expect(throws: ClientMetadataFetchError.self, "\(literal)") { _ = try await fetcher.fetch(URL(string: literal)!, limit: 5120) }
        }
        #expect(resolver.lookups.withLock { $0 } == 0)
    }

    @Test func cacheControlIsRead() {
        #expect(HTTPSClientMetadataFetcher.maxAge(["max-age=600"]) == 600)
        #expect(HTTPSClientMetadataFetcher.maxAge(["public, max-age=60"]) == 60)
        #expect(HTTPSClientMetadataFetcher.maxAge(["public", "max-age=60"]) == 60)
        #expect(HTTPSClientMetadataFetcher.maxAge(["no-store"]) == 0)
        #expect(HTTPSClientMetadataFetcher.maxAge([]) == nil)
    }
}
