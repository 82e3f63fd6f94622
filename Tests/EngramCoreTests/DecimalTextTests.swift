import EngramCore
import Foundation
import XCTest

final class DecimalTextTests: XCTestCase {
    func testFixedMatchesPrintf() {
        // Values away from a decimal tie (at a tie such as 0.015, printf rounds the binary value,
        // which lies just below or above; `fixed` rounds the scaled value: either is fine for display).
        for x in [0.0, 0.004, 0.0051, 0.5, 0.8149, 0.9951, 1, 12.3449, 99.999, -0.004, -0.5, -3.14159, 1234567.891] {
            XCTAssertEqual(DecimalText.fixed(x, digits: 2), String(format: "%.2f", x).replacingOccurrences(of: "-0.00", with: "0.00"), "\(x)")
        }
        XCTAssertEqual(DecimalText.fixed(2.5, digits: 0), "3")
        XCTAssertEqual(DecimalText.fixed(.nan, digits: 2), "nan")
    }
}
