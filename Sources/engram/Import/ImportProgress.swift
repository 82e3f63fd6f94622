/// Progress of an import: the shared `ProgressReporter` (a bar on a terminal, plain lines otherwise).
struct ImportProgress {
    let reporter: ProgressReporter

    init(total: Int) { reporter = ProgressReporter("importing", total: total) }

    func update(_ done: Int) { reporter.update(done) }

    func finish() { reporter.finish() }
}
