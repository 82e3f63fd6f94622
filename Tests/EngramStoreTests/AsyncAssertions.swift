import XCTest

// XCTest's assertions take synchronous autoclosures; these take async ones, for the store's API.

/// `XCTAssertThrowsError` for an async expression.
func assertThrowsAsync<T>(
    _ expression: @autoclosure () async throws -> T,
    _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath,
    line: UInt = #line,
    _ handler: (any Error) -> Void = { _ in }
) async {
    do {
        _ = try await expression()
        XCTFail("expected an error. " + message(), file: file, line: line)
    } catch {
        handler(error)
    }
}

/// `XCTAssertEqual` for async expressions.
func assertEqualAsync<T: Equatable>(
    _ a: @autoclosure () async throws -> T,
    _ b: @autoclosure () async throws -> T,
    _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath,
    line: UInt = #line
) async {
    do {
        let x = try await a()
        let y = try await b()
        XCTAssertEqual(x, y, message(), file: file, line: line)
    } catch {
        XCTFail("threw \(error). " + message(), file: file, line: line)
    }
}

/// `XCTAssertTrue` for an async expression.
func assertTrueAsync(
    _ a: @autoclosure () async throws -> Bool,
    _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath,
    line: UInt = #line
) async {
    await assertEqualAsync(try await a(), true, message(), file: file, line: line)
}

/// `XCTAssertFalse` for an async expression.
func assertFalseAsync(
    _ a: @autoclosure () async throws -> Bool,
    _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath,
    line: UInt = #line
) async {
    await assertEqualAsync(try await a(), false, message(), file: file, line: line)
}
