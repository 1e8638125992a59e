extension String {
    /// The text in a NUL-terminated buffer that a C call filled (error messages, names): up to the first NUL,
    /// decoded as UTF-8 with invalid bytes replaced.
    public init(nulTerminated buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
