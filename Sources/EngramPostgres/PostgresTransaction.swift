import Dispatch
import Logging
import NIOCore
public import PostgresNIO
import Synchronization

/// One open transaction on one leased connection, handed to a transaction body. Its methods block the
/// calling thread until the server answers: bodies run on the engine's thread pool, never on an event
/// loop or the cooperative pool (see `PostgresEngine.withTenant`).
///
/// Statements are `PostgresQuery` values: interpolated values are bound as parameters
/// (`"… WHERE user_id = \(userId)"` sends `$1`); `unescaped:` is for constant identifiers only. One
/// statement per query: the extended query protocol postgres-nio speaks refuses several (`42601`).
///
/// Errors are `PostgresEngineError` (a failed statement aborts the whole transaction: later statements
/// fail with `25P02` until the engine rolls back). A serialization failure or deadlock is remembered, so
/// the engine retries the transaction even when the body caught the error and threw another. The handle
/// is dead once its transaction ends: keeping it and using it later throws `misuse`.
public final class PostgresTransaction: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    private let state = Mutex(State())

    struct State {
        var open = true
        var retryableFailure: PostgresEngineError?
    }

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Runs `query` and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) throws(PostgresEngineError) -> [PostgresRow] {
        try run(query).rows
    }

    /// Runs `query` and returns how many rows it inserted, updated or deleted (0 for other statements).
    @discardableResult
    public func execute(_ query: PostgresQuery) throws(PostgresEngineError) -> Int {
        try run(query).metadata.rows ?? 0
    }

    /// Runs `query` and decodes each row as the given column types (`(String, Double?, Bool).self`).
    public func rows<each Column: PostgresDecodable>(
        _ query: PostgresQuery,
        as columns: (repeat each Column).Type
    ) throws(PostgresEngineError) -> [(repeat each Column)] {
        let rows = try run(query).rows
        do {
            return try rows.map { try $0.decode(columns) }
        } catch {
            throw Self.engineError(error)
        }
    }

    /// Runs `query` and decodes the first column of each row.
    public func column<Value: PostgresDecodable>(_ query: PostgresQuery, as type: Value.Type) throws(PostgresEngineError) -> [Value] {
        let rows = try run(query).rows
        do {
            return try rows.map { try $0.decode(Value.self) }
        } catch {
            throw Self.engineError(error)
        }
    }

    /// Sends COMMIT and returns the server's command tag (`ROLLBACK` when the transaction had failed).
    func commit() throws(PostgresEngineError) -> String {
        try run("COMMIT").metadata.command
    }

    /// Ends the handle's life (the engine calls it when the transaction ends) and returns the last
    /// serialization failure or deadlock any statement hit.
    func close() -> PostgresEngineError? {
        state.withLock {
            $0.open = false
            return $0.retryableFailure
        }
    }

    private func run(_ query: PostgresQuery) throws(PostgresEngineError) -> PostgresQueryResult {
        guard state.withLock({ $0.open }) else {
            throw .misuse("a transaction handle was used after its transaction ended")
        }
        do {
            return try Self.answer(connection.query(query, logger: logger), on: connection)
        } catch {
            let mapped = Self.engineError(error)
            if mapped.isRetryable { state.withLock { $0.retryableFailure = mapped } }
            throw mapped
        }
    }

    /// Waits for `result`, or fails once `connection` has closed without it: postgres-nio drops a statement
    /// written to a channel that closed meanwhile (the engine stopping, the server going away) without ever
    /// completing its future, and a body thread waiting on it would block forever (and with it a stopping
    /// engine, which waits for its threads). The wait looks at the connection every `closedCheck`; nothing
    /// is registered on the connection per statement (a callback on its close future would be kept, with
    /// the statement's result, for the connection's whole life in the pool).
    static func answer<T: Sendable>(_ result: EventLoopFuture<T>, on connection: PostgresConnection) throws -> T {
        guard !connection.isClosed else { throw PostgresEngineError.unavailable("the connection is closed") }
        let answered = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<T, any Error>?>(nil)
        result.whenComplete { r in
            outcome.withLock { $0 = r }
            answered.signal()
        }
        while answered.wait(timeout: .now() + closedCheck) == .timedOut {
            // An answer that raced the close still counts: one more short wait before giving up.
            if connection.isClosed, answered.wait(timeout: .now() + closedCheck) == .timedOut {
                throw PostgresEngineError.unavailable("the connection closed before the server answered")
            }
        }
        return try outcome.withLock { $0 }!.get()
    }

    /// How often a waiting statement checks whether its connection closed.
    static let closedCheck: DispatchTimeInterval = .milliseconds(250)

    static func engineError(_ error: any Error) -> PostgresEngineError {
        if let mapped = PostgresEngineError.map(error) as? PostgresEngineError { return mapped }
        return .unavailable("\(error)")
    }
}
