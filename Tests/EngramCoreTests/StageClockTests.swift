import EngramCore
import Testing

/// Each test times its own clock: the service's stages (on `StageClock.shared`) cannot touch it.
struct StageClockTests {
    @Test func offByDefaultAndWhenTurnedOff() {
        let clock = StageClock()
        #expect(!clock.isEnabled)
        let started = clock.start()
        #expect(started == 0)
        clock.stop(.scan, started)
        clock.enable(true)
        clock.enable(false)
        clock.stop(.embed, clock.start())
        let sums = clock.snapshot()
        #expect(sums[.scan]?.count == 0 && sums[.embed]?.count == 0)
        #expect(sums[.scan]?.seconds == 0)
        #expect(!StageClock.shared.isEnabled, "the service's clock is off unless a benchmark turns it on")
    }

    @Test func sumsEachStageUntilReset() async throws {
        let clock = StageClock()
        clock.enable(true)
        for _ in 0..<3 {
            let started = clock.start()
            #expect(started != 0)
            clock.stop(.lexical, started)
        }
        let value = try await clock.measure(.fusion) {
            try await Task.sleep(for: .milliseconds(2))
            return 7
        }
        #expect(value == 7)
        let sums = clock.snapshot()
        #expect(sums[.lexical]?.count == 3)
        #expect(sums[.fusion]?.count == 1)
        #expect((sums[.fusion]?.seconds ?? 0) >= 0.002, "the sleep is inside the measured stage")
        #expect(sums[.serialise]?.count == 0, "stages are summed apart")
        clock.reset()
        #expect(clock.snapshot()[.lexical]?.count == 0)
        #expect(RequestStage.allCases.count == 8)
    }
}
