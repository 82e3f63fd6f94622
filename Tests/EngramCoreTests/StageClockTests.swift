import EngramCore
import Testing

/// `StageClock` is process-wide; these tests are the only ones that turn it on, one at a time.
@Suite(.serialized)
struct StageClockTests {
    @Test func offByDefaultAndWhenTurnedOff() {
        StageClock.enable(false)
        StageClock.reset()
        let started = StageClock.start()
        #expect(started == 0)
        StageClock.stop(.scan, started)
        StageClock.stop(.embed, StageClock.start())
        let sums = StageClock.snapshot()
        #expect(sums[.scan]?.count == 0 && sums[.embed]?.count == 0)
        #expect(sums[.scan]?.seconds == 0)
    }

    @Test func sumsEachStageUntilReset() async throws {
        StageClock.enable(true)
        defer { StageClock.enable(false) }
        StageClock.reset()
        for _ in 0..<3 {
            let started = StageClock.start()
            #expect(started != 0)
            StageClock.stop(.lexical, started)
        }
        let value = try await StageClock.measure(.fusion) {
            try await Task.sleep(for: .milliseconds(2))
            return 7
        }
        #expect(value == 7)
        let sums = StageClock.snapshot()
        #expect(sums[.lexical]?.count == 3)
        #expect(sums[.fusion]?.count == 1)
        #expect((sums[.fusion]?.seconds ?? 0) >= 0.002, "the sleep is inside the measured stage")
        #expect(sums[.serialise]?.count == 0, "stages are summed apart")
        StageClock.reset()
        #expect(StageClock.snapshot()[.lexical]?.count == 0)
        #expect(RequestStage.allCases.count == 8)
    }
}
