import EngramAuth
import EngramMemoryModel
import Foundation
import Testing

@testable import EngramMemory

@Suite("Time filters")
struct TimeFilterTests {
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test("RFC 3339 times, dates and spans back from now")
    func parsing() {
        #expect(TimeBound.parse("2026-11-01T09:30:00Z") == Date(timeIntervalSince1970: 1_793_525_400))
        #expect(TimeBound.parse("2026-11-01T10:30:00+01:00") == Date(timeIntervalSince1970: 1_793_525_400))
        #expect(TimeBound.parse("2026-11-01") == Date(timeIntervalSince1970: 1_793_491_200))
        #expect(TimeBound.parse("30m", now: Self.now) == Self.now.addingTimeInterval(-1_800))
        #expect(TimeBound.parse("12h", now: Self.now) == Self.now.addingTimeInterval(-43_200))
        #expect(TimeBound.parse("7d", now: Self.now) == Self.now.addingTimeInterval(-604_800))
        #expect(TimeBound.parse("2w", now: Self.now) == Self.now.addingTimeInterval(-1_209_600))
        for bad in ["", "d", "7", "7y", "-3d", "yesterday", "2026-13-01", "1e3d", "999999999d"] {
            #expect(TimeBound.parse(bad, now: Self.now) == nil, "\(bad)")
        }
        #expect(throws: MemoryError.self) { try TimeBound.require("soon", argument: "created_after") }
    }

    @Test("search keeps only memories inside the bounds")
    func searchBounds() async throws {
        let (store, directory) = try await MemoryTestSupport.store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try await MemoryService(store: store, embedder: try MemoryTestSupport.embedder())
        let alice = Principal.user("alice")
        let first = try await service.add(alice, NewMemory(content: "the billing service deploys on Tuesdays")).memory
        let second = try await service.add(alice, NewMemory(content: "the billing service runs migrations before deploys")).memory
        func search(_ filter: MemoryFilter) async throws -> Set<UUID> {
            Set(try await service.search(alice, MemorySearchQuery(query: "billing service deploys", filter: filter)).map(\.memory.id))
        }
        let before = first.createdAt.addingTimeInterval(-60)
        let after = second.createdAt.addingTimeInterval(60)
        #expect(try await search(MemoryFilter()) == [first.id, second.id])
        #expect(try await search(MemoryFilter(createdAfter: before)) == [first.id, second.id])
        #expect(try await search(MemoryFilter(createdAfter: after)).isEmpty)
        #expect(try await search(MemoryFilter(createdBefore: before)).isEmpty)
        #expect(try await search(MemoryFilter(createdAfter: before, createdBefore: after)) == [first.id, second.id])
        #expect(try await search(MemoryFilter(updatedAfter: after)).isEmpty)
        // An edit moves updated_at, not created_at.
        try await Task.sleep(for: .milliseconds(1_100))
        let edited = try await service.update(alice, id: first.id, MemoryPatch(content: "the billing service deploys on Thursdays"))
        let cut = edited.updatedAt.addingTimeInterval(-0.5)
        #expect(try await search(MemoryFilter(updatedAfter: cut)) == [first.id])
        #expect(try await search(MemoryFilter(createdAfter: cut)).isEmpty)
    }
}
