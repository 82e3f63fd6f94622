import Foundation
import Testing

@testable import EngramOffsite

/// The retain-until date as sent and as echoed, and what counts as a confirmed lock.
@Suite struct ObjectLockRetentionTests {
    static let start = Date(timeIntervalSince1970: 1_798_761_600.75)  // 2027-01-01T00:00:00.75Z

    @Test func daysFromNowInWholeSeconds() throws {
        let retention = try ObjectLockRetention(days: 4, from: Self.start)
        #expect(retention.headerValue == "2027-01-05T00:00:00Z")
        #expect(retention.retainUntil.timeIntervalSince1970 == 1_799_107_200)
        #expect(ObjectLockRetention.mode == "COMPLIANCE")
    }

    @Test(arguments: [0, -1, 36_501])
    func retentionOutsideItsBoundsIsRefused(_ days: Int) {
        #expect(throws: OffsiteError.self) { try ObjectLockRetention(days: days, from: Self.start) }
    }

    @Test func echoedDatesParseWithOrWithoutFractions() {
        #expect(ObjectLockRetention.parse("2027-01-05T00:00:00Z")?.timeIntervalSince1970 == 1_799_107_200)
        #expect(ObjectLockRetention.parse("2027-01-05T00:00:00.000Z")?.timeIntervalSince1970 == 1_799_107_200)
        #expect(ObjectLockRetention.parse("Tue, 05 Jan 2027 00:00:00 GMT") == nil)
    }

    @Test func onlyComplianceModeWithTheSameDateConfirmsTheLock() throws {
        let retention = try ObjectLockRetention(days: 4, from: Self.start)
        #expect(retention.mismatch(in: ObjectHead(lockMode: "COMPLIANCE", retainUntilText: "2027-01-05T00:00:00Z")) == nil)
        #expect(retention.mismatch(in: ObjectHead(lockMode: "COMPLIANCE", retainUntilText: "2027-01-05T00:00:00.000Z")) == nil)
        #expect(retention.mismatch(in: ObjectHead(lockMode: "GOVERNANCE", retainUntilText: "2027-01-05T00:00:00Z")) != nil)
        #expect(retention.mismatch(in: ObjectHead(lockMode: nil, retainUntilText: nil)) != nil)
        #expect(retention.mismatch(in: ObjectHead(lockMode: "COMPLIANCE", retainUntilText: nil)) != nil)
        #expect(retention.mismatch(in: ObjectHead(lockMode: "COMPLIANCE", retainUntilText: "2027-01-04T23:59:59Z")) != nil)
    }
}
