import EngramEmbedding
import Foundation
import XCTest

final class SafetensorsTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("engram-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tmp)
    }

    /// A safetensors file from a header string and a data section.
    private func file(header: String, data: [UInt8], headerLength: UInt64? = nil) throws -> URL {
        var bytes: [UInt8] = []
        let h = Array(header.utf8)
        var n = headerLength ?? UInt64(h.count)
        for _ in 0..<8 {
            bytes.append(UInt8(n & 0xFF))
            n >>= 8
        }
        bytes += h
        bytes += data
        let url = tmp.appendingPathComponent("\(UUID().uuidString).safetensors")
        try Data(bytes).write(to: url)
        return url
    }

    private func floats(_ xs: [Float]) -> [UInt8] {
        xs.flatMap { x in withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) } }
    }

    func testValidFileIsReadThroughTheMapping() throws {
        let header =
            #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"ids":{"dtype":"I64","shape":[1],"data_offsets":[24,32]}}"#
        let url = try file(header: header, data: floats([1, 2, 3, 4, 5, 6]) + [UInt8](repeating: 0, count: 8))
        let f = try SafetensorsFile(url: url)
        XCTAssertEqual(f.metadata["format"], "pt")
        XCTAssertEqual(f.tensors["w"]?.shape, [2, 3])
        XCTAssertEqual(f.tensors["ids"]?.dtype, "I64")
        var out = [Float](repeating: 0, count: 6)
        try out.withUnsafeMutableBufferPointer { try f.copyFloats("w", shape: [2, 3], into: $0.baseAddress!) }
        XCTAssertEqual(out, [1, 2, 3, 4, 5, 6])
        XCTAssertThrowsError(try f.info("w", shape: [3, 2])) {
            XCTAssertEqual($0 as? SafetensorsError, .shapeMismatch(name: "w", expected: [3, 2], actual: [2, 3]))
        }
        XCTAssertThrowsError(try f.info("ids")) {
            XCTAssertEqual($0 as? SafetensorsError, .dtypeMismatch(name: "ids", expected: "F32", actual: "I64"))
        }
        XCTAssertThrowsError(try f.info("nope")) { XCTAssertEqual($0 as? SafetensorsError, .missingTensor(name: "nope")) }
    }

    func testTruncatedDataIsRefused() throws {
        let header = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        let url = try file(header: header, data: floats([1, 2]))
        XCTAssertThrowsError(try SafetensorsFile(url: url)) { error in
            guard case SafetensorsError.truncated = error else { return XCTFail("unexpected \(error)") }
            XCTAssertTrue("\(error)".contains("truncated"))
        }
    }

    func testTruncatedHeaderAndTinyFilesAreRefused() throws {
        let url = try file(header: #"{"w":{"dtype":"F32""#, data: [], headerLength: 400)
        XCTAssertThrowsError(try SafetensorsFile(url: url)) { error in
            guard case SafetensorsError.truncated = error else { return XCTFail("unexpected \(error)") }
        }
        let tiny = tmp.appendingPathComponent("tiny.safetensors")
        try Data([1, 2, 3]).write(to: tiny)
        XCTAssertThrowsError(try SafetensorsFile(url: tiny)) { error in
            guard case SafetensorsError.truncated = error else { return XCTFail("unexpected \(error)") }
        }
    }

    func testCorruptFilesAreTypedErrors() throws {
        // Garbage length prefix.
        let garbage = tmp.appendingPathComponent("garbage.safetensors")
        try Data((0..<64).map { _ in UInt8.random(in: 200...255) }).write(to: garbage)
        XCTAssertThrowsError(try SafetensorsFile(url: garbage)) { error in
            guard case SafetensorsError.invalidHeaderLength = error else { return XCTFail("unexpected \(error)") }
        }
        // Not JSON.
        XCTAssertThrowsError(try SafetensorsFile(url: try file(header: "{not json}", data: []))) { error in
            guard case SafetensorsError.invalidHeader = error else { return XCTFail("unexpected \(error)") }
        }
        // Offsets that do not match the shape.
        let bad = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        XCTAssertThrowsError(try SafetensorsFile(url: try file(header: bad, data: floats([1, 2, 3])))) { error in
            guard case SafetensorsError.invalidTensor(name: "w", _) = error else { return XCTFail("unexpected \(error)") }
        }
        // Reversed offsets, negative shape, unknown dtype.
        for header in [
            #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
            #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
        ] {
            XCTAssertThrowsError(try SafetensorsFile(url: try file(header: header, data: floats([1])))) { error in
                guard case SafetensorsError.invalidTensor = error else { return XCTFail("unexpected \(error)") }
            }
        }
        XCTAssertThrowsError(try SafetensorsFile(url: try file(header: #"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, data: [0]))) {
            XCTAssertEqual($0 as? SafetensorsError, .unsupportedDType(name: "w", dtype: "Q4"))
        }
        XCTAssertThrowsError(try SafetensorsFile(url: tmp.appendingPathComponent("absent.safetensors"))) { error in
            guard case SafetensorsError.cannotOpen = error else { return XCTFail("unexpected \(error)") }
        }
    }

    /// A truncated or corrupt copy of the real model makes MiniLMEmbedder.init throw a typed error.
    func testMiniLMRefusesTruncatedOrCorruptModel() throws {
        let model = try TestModel.require("model.safetensors")
        let vocab = try TestModel.require("vocab.txt")
        let dir = tmp.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: vocab, to: dir.appendingPathComponent("vocab.txt"))
        let handle = try FileHandle(forReadingFrom: model)
        let head = try XCTUnwrap(try handle.read(upToCount: 4 << 20))
        try handle.close()

        try head.write(to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try MiniLMEmbedder(modelDirectory: dir)) { error in
            guard case SafetensorsError.truncated = error else { return XCTFail("unexpected \(error)") }
        }

        var corrupt = head
        corrupt.replaceSubrange(8..<40, with: Data(repeating: UInt8(ascii: "#"), count: 32))
        try corrupt.write(to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try MiniLMEmbedder(modelDirectory: dir)) { error in
            guard case SafetensorsError.invalidHeader = error else { return XCTFail("unexpected \(error)") }
        }

        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try MiniLMEmbedder(modelDirectory: dir)) { error in
            guard case MiniLMError.missingFile = error else { return XCTFail("unexpected \(error)") }
        }
    }
}
