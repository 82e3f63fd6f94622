import Foundation
package import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The progress of a long command (export, import, migrate, backup, rescan) on standard error: on a
/// terminal, one bar redrawn in place at most ten times a second with the rate and the time left;
/// otherwise (a pipe, a log file, CI) a plain line at each tenth of the way and at the end, so logs stay
/// readable. `ENGRAM_PROGRESS=off` silences it, `=plain` forces lines.
///
/// Written here: a bar with two modes is a few dozen lines, smaller than any terminal-UI package.
package final class ProgressReporter: Sendable {
    package enum Mode: Sendable { case bar, lines, off }

    package struct State {
        package var done = 0
        package var total: Int?
        package var lastDraw: ContinuousClock.Instant?
        package var lastTenth = -1
        package var finished = false
    }

    package let what: String
    package let mode: Mode
    package let started = ContinuousClock.now
    package let state: Mutex<State>
    package let write: @Sendable (String) -> Void

    package init(
        _ what: String,
        total: Int?,
        mode: Mode = ProgressReporter.defaultMode(),
        write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        self.what = what
        self.mode = mode
        self.write = write
        state = Mutex(State(total: total))
    }

    /// A bar on a terminal, lines elsewhere, as `ENGRAM_PROGRESS` may override.
    package static func defaultMode() -> Mode {
        switch ProcessInfo.processInfo.environment["ENGRAM_PROGRESS"]?.lowercased() {
        case "off": .off
        case "plain", "lines": .lines
        case "bar": .bar
        default: isatty(STDERR_FILENO) != 0 ? .bar : .lines
        }
    }

    /// `done` items so far (and the total, when it became known late).
    package func update(_ done: Int, total: Int? = nil) {
        let now = ContinuousClock.now
        let line: String? = state.withLock { s in
            s.done = done
            if let total { s.total = total }
            switch mode {
            case .off: return nil
            case .bar:
                if let last = s.lastDraw, now - last < .milliseconds(100) { return nil }
                s.lastDraw = now
                return "\r" + render(s, now: now)
            case .lines:
                guard let total = s.total, total > 0 else { return nil }
                let tenth = min(10, done * 10 / total)
                guard tenth > s.lastTenth, tenth < 10 else { return nil }
                s.lastTenth = tenth
                return render(s, now: now) + "\n"
            }
        }
        if let line { write(line) }
    }

    /// The final state, once (a bar is completed and ended with a newline); `done` when the last
    /// update was not the final count.
    package func finish(_ done: Int? = nil) {
        let now = ContinuousClock.now
        let line: String? = state.withLock { s in
            guard !s.finished, mode != .off else { return nil }
            s.finished = true
            if let done {
                s.done = done
                if s.total == nil || s.total! < done { s.total = done }
            }
            return (mode == .bar ? "\r" : "") + render(s, now: now, final: true) + "\n"
        }
        if let line { write(line) }
    }

    package func render(_ s: State, now: ContinuousClock.Instant, final: Bool = false) -> String {
        let elapsed = Double((now - started).components.seconds) + Double((now - started).components.attoseconds) / 1e18
        let rate = elapsed > 0 ? Double(s.done) / elapsed : 0
        var parts = [what]
        if let total = s.total, total > 0 {
            let width = 24
            let filled = min(width, s.done * width / total)
            if mode == .bar { parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]") }
            parts.append("\(s.done)/\(total) (\(min(100, s.done * 100 / total))%)")
            if !final, rate > 0, s.done < total { parts.append("\(Self.duration(Double(total - s.done) / rate)) left") }
        } else {
            parts.append("\(s.done)")
        }
        if rate > 0, elapsed >= 1 { parts.append(String(format: "%.0f/s", rate)) }
        if final { parts.append("in " + Self.duration(elapsed)) }
        return parts.joined(separator: " ")
    }

    package static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h" + String(format: "%02dm", s % 3600 / 60) }
        return s >= 60 ? "\(s / 60)m" + String(format: "%02ds", s % 60) : "\(s)s"
    }
}
