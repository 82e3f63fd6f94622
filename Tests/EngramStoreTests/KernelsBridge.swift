import EngramKernels

enum EngramKernelsBridge {
    static func prepare(_ v: [Float], dimension: Int) throws -> [Float] {
        try VectorMatrix(dimension: dimension).prepare(v)
    }
}
